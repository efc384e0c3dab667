//! The client's memory of a relay's salt generations (spec §9.6.1): the highest generation
//! it has accepted and when it first saw it. A relay cannot serve an older generation (old
//! or compromised parameters) to a client that has seen a newer one, nor rotate
//! generations quickly to intersect one user's repeated lookups (spec §9.11.3).

use crate::codec::{Reader, Writer};
use crate::Error;

/// The shortest time, in seconds, a client keeps a salt generation before it accepts a
/// newer one from the same relay key (spec §9.6.1): 30 days. Each generation a client
/// looks up under is one more bucket sample of its address book for an enumerating relay to
/// intersect (spec §9.11.3); this bounds the samples to about twelve a year. A relay that
/// must rotate sooner (its key was compromised) rotates its key, which clients pin anew
/// with a fresh mark.
pub const MIN_GENERATION_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// Length of [`GenerationMark::to_bytes`].
pub const GENERATION_MARK_LEN: usize = 13;

/// The highest salt generation a client accepted from one pinned relay key and the time it
/// first accepted it (spec §9.6.1). The client stores one per pinned relay key, updates it
/// through [`super::DiscoveryParameters::verify`], and must keep it across restarts: a
/// restored older mark lets a relay roll the client back by as much as the backup is old.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationMark {
    seen: Option<(u32, u64)>,
}

impl GenerationMark {
    /// A mark that has seen nothing (a freshly pinned relay key).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest generation accepted so far and when it was first accepted, if any.
    #[must_use]
    pub fn seen(&self) -> Option<(u32, u64)> {
        self.seen
    }

    /// The mark after accepting `generation` at `now` (spec §9.6.1): the same generation
    /// again changes nothing; a higher one is recorded with `now`, but only once the current
    /// one has been held for [`MIN_GENERATION_LIFETIME_SECS`].
    ///
    /// # Errors
    /// [`Error::GenerationRolledBack`] (616) for a generation below the mark;
    /// [`Error::GenerationTooSoon`] (617) for a higher one offered before the current one's
    /// minimum lifetime has passed.
    pub fn admit(&self, generation: u32, now: u64) -> Result<Self, Error> {
        match self.seen {
            None => Ok(Self {
                seen: Some((generation, now)),
            }),
            Some((g, _)) if generation == g => Ok(*self),
            Some((g, _)) if generation < g => Err(Error::GenerationRolledBack),
            Some((_, since)) => {
                if now < since.saturating_add(MIN_GENERATION_LIFETIME_SECS) {
                    Err(Error::GenerationTooSoon)
                } else {
                    Ok(Self {
                        seen: Some((generation, now)),
                    })
                }
            }
        }
    }

    /// The stored form (spec §9.6.1): `seen (u8: 0 or 1) || generation (u32) || since
    /// (u64)`, with zero generation and time when nothing was seen.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; GENERATION_MARK_LEN] {
        let mut w = Writer::with_capacity(GENERATION_MARK_LEN);
        let (flag, (g, t)) = match self.seen {
            Some(v) => (true, v),
            None => (false, (0, 0)),
        };
        w.bool(flag);
        w.u32(g);
        w.u64(t);
        let mut out = [0u8; GENERATION_MARK_LEN];
        for (o, b) in out.iter_mut().zip(w.into_inner()) {
            *o = b;
        }
        out
    }

    /// Decodes [`GenerationMark::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingBytes`], or [`Error::InvalidEncoding`] (field
    /// `generation_mark`) for a flag other than 0 or 1, or an unseen mark with non-zero
    /// fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let seen = r.bool("generation_mark")?;
        let g = r.u32()?;
        let t = r.u64()?;
        r.finish()?;
        match (seen, g, t) {
            (true, g, t) => Ok(Self { seen: Some((g, t)) }),
            (false, 0, 0) => Ok(Self { seen: None }),
            (false, _, _) => Err(Error::InvalidEncoding {
                field: "generation_mark",
            }),
        }
    }
}
