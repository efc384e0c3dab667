//! The relay's clock: the system clock, or a fixed time for conformance runs (spec §12.3).

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the relay reads the time from. Every store operation gets `now` from here, so a
/// test or a conformance run controls time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time in seconds since the Unix epoch (`BLINDRELAY_CLOCK`), for conformance
    /// transcripts whose publications carry fixed times. Never for production.
    Fixed(u64),
}

impl Clock {
    /// Seconds since the Unix epoch.
    #[must_use]
    pub fn now(&self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Self::Fixed(t) => *t,
        }
    }
}
