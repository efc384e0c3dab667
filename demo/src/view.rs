//! The relay's view: what the operator could hand over, and the check that none of it
//! holds what spec §11 forbids a relay to hold.
//!
//! [`check`] scans [`Evidence`] (the raw database files, every row of `Store::dump`, the
//! relay's log) for the [`Secrets`] of a run and returns every [`Finding`]:
//!
//! - a plaintext message, byte for byte;
//! - a phone number, as typed, in E.164 and in digits only, or its Argon2id password form,
//!   or a contact id beyond its 16-byte match tag (the full 32 bytes or the first half);
//! - an identity public key (Ed25519 or X25519) anywhere but inside a published bundle
//!   (the `bundles` table, and the same bytes with their surroundings in the raw files);
//! - a sender: an envelope row holding any party's identity key, or the public mailbox
//!   of any party other than the envelope's recipient;
//! - a read capability (the bearer secret of a mailbox).
//!
//! Binary secrets are also looked for as lowercase hex (a text log or column would hold
//! them that way), and an integer column equal to a phone number's digits is a finding.

use blindrelay::contact::{normalize_lenient, password};
use blindrelay::route::ReadCapability;
use blindrelay::IdentityPublicKey;
use blindrelay_relay::oprf::hex;
use blindrelay_relay::store::{Table, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;

/// Everything the relay wrote, as bytes.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Raw files the relay wrote, by name (the SQLite database with its `-wal` and `-shm`
    /// files, the discovery key), each read whole.
    pub files: Vec<(String, Vec<u8>)>,
    /// Every table and row of the store's `dump()`.
    pub tables: Vec<Table>,
    /// The relay's log, as captured.
    pub log: Vec<u8>,
}

/// What the relay must never hold, from the clients' side of a run.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// Every message sent.
    pub plaintexts: Vec<String>,
    /// Every phone number involved (registered or looked up), as typed.
    pub numbers: Vec<String>,
    /// Each number's contact id under the relay's salt, with the number.
    pub contact_ids: Vec<(String, [u8; 32])>,
    /// Each party's identity public key, with its name.
    pub identities: Vec<(String, IdentityPublicKey)>,
    /// Each party's public mailbox id, with its name (allowed in the store, but never in
    /// an envelope to someone else: that would name the sender).
    pub public_mailboxes: Vec<(String, [u8; 32])>,
    /// Every read capability a client used (public and pairwise mailboxes).
    pub capabilities: Vec<[u8; 32]>,
}

/// What kind of secret a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leak {
    /// A message's plaintext.
    Plaintext,
    /// A phone number.
    PhoneNumber,
    /// A contact id beyond its match tag, or its Argon2id password form.
    ContactId,
    /// An identity key outside a published bundle.
    IdentityKey,
    /// An envelope that names its sender.
    Sender,
    /// A read capability.
    ReadCapability,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plaintext => "plaintext",
            Self::PhoneNumber => "phone number",
            Self::ContactId => "contact id",
            Self::IdentityKey => "identity key",
            Self::Sender => "sender",
            Self::ReadCapability => "read capability",
        })
    }
}

/// One secret found somewhere the relay wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Its kind.
    pub leak: Leak,
    /// Which secret (a readable label, never the secret's bytes beyond a short prefix).
    pub secret: String,
    /// Where: a file and offset, a table, row and column, or a log line.
    pub place: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} in {}", self.leak, self.secret, self.place)
    }
}

/// One byte string to look for.
struct Needle {
    leak: Leak,
    label: String,
    bytes: Vec<u8>,
}

/// Short hex of the first 4 bytes, for labels.
#[must_use]
pub fn short_hex(bytes: &[u8]) -> String {
    let mut s: String = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 4 {
        s.push('…');
    }
    s
}

#[derive(Default)]
struct Needles(Vec<Needle>);

impl Needles {
    fn push(&mut self, leak: Leak, label: String, bytes: Vec<u8>) {
        if !bytes.is_empty() && !self.0.iter().any(|n| n.bytes == bytes) {
            self.0.push(Needle { leak, label, bytes });
        }
    }

    /// A binary secret, and its hex text.
    fn push_binary(&mut self, leak: Leak, label: String, bytes: &[u8]) {
        self.push(leak, format!("{label} (as hex)"), hex(bytes).into_bytes());
        self.push(leak, label, bytes.to_vec());
    }
}

fn needles(secrets: &Secrets) -> Vec<Needle> {
    let mut out = Needles::default();
    for text in &secrets.plaintexts {
        let shown: String = text.chars().take(28).collect();
        out.push(
            Leak::Plaintext,
            format!("message {shown:?}"),
            text.as_bytes().to_vec(),
        );
    }
    for number in &secrets.numbers {
        if let Ok(canonical) = normalize_lenient(number) {
            out.push(
                Leak::ContactId,
                format!("Argon2id password of {}", canonical.as_str()),
                password(&canonical).to_vec(),
            );
            out.push(
                Leak::PhoneNumber,
                format!("phone number {} (E.164)", canonical.as_str()),
                canonical.as_str().as_bytes().to_vec(),
            );
        }
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        out.push(
            Leak::PhoneNumber,
            format!("phone number {digits} (digits)"),
            digits.into_bytes(),
        );
        out.push(
            Leak::PhoneNumber,
            format!("phone number {number:?} (as typed)"),
            number.as_bytes().to_vec(),
        );
    }
    for (number, id) in &secrets.contact_ids {
        out.push_binary(Leak::ContactId, format!("contact id of {number}"), id);
        // The match tag is `id[16..32]`; the first half never leaves the client.
        out.push_binary(
            Leak::ContactId,
            format!("first half of the contact id of {number}"),
            id.get(..16).unwrap_or_default(),
        );
    }
    for (name, id) in &secrets.identities {
        out.push_binary(
            Leak::IdentityKey,
            format!("{name}'s Ed25519 identity key"),
            &id.signing,
        );
        out.push_binary(
            Leak::IdentityKey,
            format!("{name}'s X25519 identity key"),
            &id.agreement,
        );
    }
    for cap in &secrets.capabilities {
        let mailbox = ReadCapability::from_bytes(*cap).mailbox();
        out.push_binary(
            Leak::ReadCapability,
            format!("read capability of mailbox {}", short_hex(&mailbox)),
            cap,
        );
    }
    out.0
}

/// Every `(needle index, offset)` where a needle occurs in `hay`.
fn find_all(hay: &[u8], needles: &[Needle]) -> Vec<(usize, usize)> {
    // Index by the first two bytes; needles shorter than two bytes are not looked for.
    let mut index: HashMap<[u8; 2], Vec<usize>> = HashMap::new();
    for (i, n) in needles.iter().enumerate() {
        if let Some(&[a, b]) = n.bytes.first_chunk::<2>() {
            index.entry([a, b]).or_default().push(i);
        }
    }
    let mut first = vec![false; 1 << 16];
    for key in index.keys() {
        if let Some(slot) = first.get_mut(usize::from(u16::from_be_bytes(*key))) {
            *slot = true;
        }
    }
    let mut hits = Vec::new();
    for (at, pair) in hay.windows(2).enumerate() {
        let Some(&[a, b]) = pair.first_chunk::<2>() else {
            continue;
        };
        if !first
            .get(usize::from(u16::from_be_bytes([a, b])))
            .copied()
            .unwrap_or(false)
        {
            continue;
        }
        for &i in index.get(&[a, b]).map_or(&[][..], Vec::as_slice) {
            let Some(n) = needles.get(i) else { continue };
            if hay.get(at..).is_some_and(|rest| rest.starts_with(&n.bytes)) {
                hits.push((i, at));
            }
        }
    }
    hits
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether the `key.len()` bytes at `at` in `hay` are a copy of the key inside one of the
/// published bundles: at least 16 bytes around it (before and after together, up to 16
/// each side) equal the bundle's bytes around its copy of the key.
fn inside_bundle(hay: &[u8], at: usize, key: &[u8], bundles: &[&[u8]]) -> bool {
    const CONTEXT: usize = 16;
    let hay_after = hay.len().saturating_sub(at + key.len());
    bundles.iter().any(|row| {
        row.windows(key.len())
            .enumerate()
            .filter(|(_, w)| *w == key)
            .any(|(q, _)| {
                let row_after = row.len().saturating_sub(q + key.len());
                let before = q.min(at).min(CONTEXT);
                let after = row_after.min(hay_after).min(CONTEXT);
                before + after >= CONTEXT
                    && row.get(q - before..q + key.len() + after)
                        == hay.get(at - before..at + key.len() + after)
            })
    })
}

/// Counts findings by `(needle, place)` so a secret repeated in many WAL frames or rows is
/// one finding with a count.
#[derive(Default)]
struct Tally {
    seen: BTreeMap<(Leak, String, String), usize>,
    order: Vec<(Leak, String, String)>,
}

impl Tally {
    fn add(&mut self, leak: Leak, secret: &str, place: String) {
        let key = (leak, secret.to_owned(), place);
        let count = self.seen.entry(key.clone()).or_insert(0);
        if *count == 0 {
            self.order.push(key);
        }
        *count += 1;
    }

    fn findings(self) -> Vec<Finding> {
        self.order
            .into_iter()
            .map(|key| {
                let n = self.seen.get(&key).copied().unwrap_or(1);
                let (leak, secret, place) = key;
                let place = if n > 1 {
                    format!("{place} ({n} times)")
                } else {
                    place
                };
                Finding {
                    leak,
                    secret,
                    place,
                }
            })
            .collect()
    }
}

/// The relay-view check: every secret of `secrets` found in `evidence` (empty when the
/// relay holds none). See the module documentation for the rules.
#[must_use]
pub fn check(evidence: &Evidence, secrets: &Secrets) -> Vec<Finding> {
    let needles = needles(secrets);
    let mut tally = Tally::default();
    // The published bundles: identity keys inside them are allowed.
    let bundles: Vec<&[u8]> = evidence
        .tables
        .iter()
        .filter(|t| t.name == "bundles")
        .flat_map(|t| t.rows.iter().flatten())
        .filter_map(|v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();

    for (name, bytes) in &evidence.files {
        let mut first_at: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, at) in find_all(bytes, &needles) {
            let Some(n) = needles.get(i) else { continue };
            if n.leak == Leak::IdentityKey && inside_bundle(bytes, at, &n.bytes, &bundles) {
                continue;
            }
            let first = *first_at.entry(i).or_insert(at);
            tally.add(
                n.leak,
                &n.label,
                format!("file {name} (first at offset {first})"),
            );
        }
    }

    let digits: Vec<(i64, &str)> = secrets
        .numbers
        .iter()
        .filter_map(|n| {
            let d: String = n.chars().filter(char::is_ascii_digit).collect();
            Some((d.parse::<i64>().ok()?, n.as_str()))
        })
        .collect();
    for table in &evidence.tables {
        let column = |c: usize| table.columns.get(c).map_or("?", String::as_str);
        let envelope_col = table.columns.iter().position(|c| c == "envelope");
        let mailbox_col = table.columns.iter().position(|c| c == "mailbox");
        for (r, row) in table.rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                let place = format!("table {}, column {}", table.name, column(c));
                let bytes = match value {
                    Value::Bytes(b) => b.as_slice(),
                    Value::Text(t) => t.as_bytes(),
                    Value::Int(v) => {
                        for (d, number) in &digits {
                            if d == v {
                                tally.add(
                                    Leak::PhoneNumber,
                                    &format!("phone number {number:?} (as an integer)"),
                                    format!("{place}, row {r}"),
                                );
                            }
                        }
                        continue;
                    }
                    Value::Null => continue,
                };
                for (i, _) in find_all(bytes, &needles) {
                    let Some(n) = needles.get(i) else { continue };
                    if n.leak == Leak::IdentityKey && table.name == "bundles" {
                        continue;
                    }
                    tally.add(n.leak, &n.label, place.clone());
                }
            }
            // Envelopes name their recipient's mailbox, never their sender.
            if table.name == "envelopes" {
                let envelope = envelope_col.and_then(|c| row.get(c));
                let mailbox = mailbox_col.and_then(|c| row.get(c));
                let (Some(Value::Bytes(envelope)), Some(Value::Bytes(mailbox))) =
                    (envelope, mailbox)
                else {
                    continue;
                };
                let place = format!("table envelopes, row {r} (to {})", short_hex(mailbox));
                for (name, id) in &secrets.identities {
                    if contains(envelope, &id.signing) || contains(envelope, &id.agreement) {
                        tally.add(
                            Leak::Sender,
                            &format!("{name}'s identity key"),
                            place.clone(),
                        );
                    }
                }
                for (name, public) in &secrets.public_mailboxes {
                    if public.as_slice() != mailbox.as_slice() && contains(envelope, public) {
                        tally.add(
                            Leak::Sender,
                            &format!("{name}'s public mailbox"),
                            place.clone(),
                        );
                    }
                }
            }
        }
    }

    let mut first_line: BTreeMap<usize, usize> = BTreeMap::new();
    for (line, text) in evidence.log.split(|b| *b == b'\n').enumerate() {
        for (i, _) in find_all(text, &needles) {
            let Some(n) = needles.get(i) else { continue };
            let first = *first_line.entry(i).or_insert(line + 1);
            tally.add(
                n.leak,
                &n.label,
                format!("relay log (first at line {first})"),
            );
        }
    }
    tally.findings()
}

/// Prints what a store dump holds, table by table: row counts and each column summarised
/// (ids as short hex, blobs as lengths, integers as ranges). `labels` names known 32-byte
/// ids (the demo's annotation: the relay itself cannot tell whose they are).
///
/// # Errors
/// Writing to `out`.
pub fn describe(
    tables: &[Table],
    labels: &[(String, [u8; 32])],
    out: &mut impl Write,
) -> std::io::Result<()> {
    for table in tables {
        writeln!(
            out,
            "  {} ({} row{})",
            table.name,
            table.rows.len(),
            if table.rows.len() == 1 { "" } else { "s" }
        )?;
        for (c, name) in table.columns.iter().enumerate() {
            let values: Vec<&Value> = table.rows.iter().filter_map(|r| r.get(c)).collect();
            writeln!(out, "    {name:<12} {}", summarise(&values, labels))?;
        }
    }
    Ok(())
}

fn summarise(values: &[&Value], labels: &[(String, [u8; 32])]) -> String {
    if values.is_empty() {
        return "-".to_owned();
    }
    let ints: Vec<i64> = values
        .iter()
        .filter_map(|v| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        })
        .collect();
    let blobs: Vec<&[u8]> = values
        .iter()
        .filter_map(|v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        })
        .collect();
    let texts = values
        .iter()
        .filter(|v| matches!(v, Value::Text(_)))
        .count();
    let nulls = values.iter().filter(|v| matches!(v, Value::Null)).count();
    let mut parts = Vec::new();
    if let (Some(min), Some(max)) = (ints.iter().min(), ints.iter().max()) {
        parts.push(if min == max {
            format!("integer {min}")
        } else {
            format!("integers {min}..{max}")
        });
    }
    if !blobs.is_empty() {
        let mut distinct: Vec<&[u8]> = blobs.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let (min, max) = (
            blobs.iter().map(|b| b.len()).min().unwrap_or(0),
            blobs.iter().map(|b| b.len()).max().unwrap_or(0),
        );
        let size = if min == max {
            format!("{min} B")
        } else {
            format!("{min}-{max} B")
        };
        if max <= 32 {
            // Ids and tags: show them.
            let shown: Vec<String> = distinct
                .iter()
                .take(4)
                .map(|b| {
                    let label = labels
                        .iter()
                        .find(|(_, id)| id.as_slice() == *b)
                        .map(|(l, _)| format!(" ({l})"))
                        .unwrap_or_default();
                    format!("{}{label}", short_hex(b))
                })
                .collect();
            let more = if distinct.len() > 4 {
                format!(", … {} more", distinct.len() - 4)
            } else {
                String::new()
            };
            parts.push(format!(
                "{size} ids, {} distinct: {}{more}",
                distinct.len(),
                shown.join(", ")
            ));
        } else {
            parts.push(format!(
                "opaque blobs of {size} ({} distinct)",
                distinct.len()
            ));
        }
    }
    if texts > 0 {
        parts.push(format!("{texts} text values"));
    }
    if nulls > 0 {
        parts.push(format!("{nulls} NULL"));
    }
    parts.join("; ")
}
