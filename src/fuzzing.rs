//! Fuzz oracles, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay test
//! (`tests/fuzz_corpus.rs`), so `cargo test` catches regressions without nightly.
//!
//! Each oracle takes arbitrary bytes and panics only when an invariant of the protocol is
//! broken: a non-canonical encoding accepted, state changed by a failed operation, and so
//! on. Not part of the stable API.

use crate::codec::{Decode, Encode};
use crate::wire::{InitialMessage, PrekeyBundle};

/// A fuzz oracle: panics only on a broken invariant.
pub type Oracle = fn(&[u8]);

/// Every fuzz target, by name, with its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("bundle_decode", bundle_decode),
    ("initial_decode", initial_decode),
    ("contact_parse", contact_parse),
    ("contact_normalize", contact_normalize),
    ("lookup_request_decode", lookup_request_decode),
    ("lookup_response_decode", lookup_response_decode),
];

/// Runs the oracle of the named target; returns `false` if there is no such target.
pub fn run(target: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(name, _)| *name == target) {
        Some((_, oracle)) => {
            oracle(data);
            true
        }
        None => false,
    }
}

/// Asserts that a decoded value re-encodes to exactly the input (spec §2.4).
fn assert_canonical<T: Encode>(value: &T, data: &[u8], what: &str) {
    #[allow(
        clippy::panic,
        reason = "a fuzz oracle reports a broken invariant by panicking"
    )]
    if value.to_bytes() != data {
        panic!("non-canonical {what} encoding accepted");
    }
}

/// Bundle decoding: canonical round trip; verification never panics.
pub fn bundle_decode(data: &[u8]) {
    if let Ok(bundle) = PrekeyBundle::decode_exact(data) {
        assert_canonical(&bundle, data, "bundle");
        let _ = bundle.verify();
    }
}

/// Initial-message decoding: canonical round trip.
pub fn initial_decode(data: &[u8]) {
    if let Ok(msg) = InitialMessage::decode_exact(data) {
        assert_canonical(&msg, data, "initial message");
    }
}

/// Panics with `what` (a broken invariant of a contact-discovery oracle).
fn broken(what: &str) {
    #[allow(
        clippy::panic,
        reason = "a fuzz oracle reports a broken invariant by panicking"
    )]
    {
        panic!("{what}");
    }
}

/// The strict E.164 parser (spec §9.2): accepts exactly `^\+[1-9][0-9]{0,14}$` and
/// returns the input unchanged; every rejection is one of the 60x identifier errors.
pub fn contact_parse(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let canonical = data.len() >= 2
        && data.len() <= 16
        && data.first() == Some(&b'+')
        && data.get(1).is_some_and(|c| (b'1'..=b'9').contains(c))
        && data.iter().skip(2).all(u8::is_ascii_digit);
    match crate::contact::PhoneNumber::parse_canonical(s) {
        Ok(n) => {
            if !canonical || n.as_bytes() != data {
                broken("strict parser accepted a non-canonical identifier");
            }
        }
        Err(e) => {
            if canonical || !(600..=607).contains(&e.code()) {
                broken("strict parser rejected a canonical identifier or used a foreign error");
            }
        }
    }
}

/// The non-normative helper (spec §9.2.1): never panics, and anything it returns is
/// accepted unchanged by the strict parser.
pub fn contact_normalize(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(n) = crate::contact::normalize_lenient(&s) {
        if crate::contact::PhoneNumber::parse_canonical(n.as_str()) != Ok(n) {
            broken("helper returned a number the strict parser does not reproduce");
        }
    }
}

/// Lookup-request decoding (spec §9.7): canonical round trip; prefixes strictly ascending.
pub fn lookup_request_decode(data: &[u8]) {
    if let Ok(req) = crate::contact::LookupRequest::decode_exact(data) {
        assert_canonical(&req, data, "lookup request");
        if req.prefixes().windows(2).any(|w| w.first() >= w.get(1)) {
            broken("unsorted lookup request accepted");
        }
    }
}

/// Lookup-response decoding (spec §9.8): canonical round trip; matching against it never
/// panics.
pub fn lookup_response_decode(data: &[u8]) {
    if let Ok(resp) = crate::contact::LookupResponse::decode_exact(data) {
        assert_canonical(&resp, data, "lookup response");
        let prefixes: Vec<u32> = resp.buckets().iter().map(|b| b.prefix()).collect();
        for p in prefixes {
            let _ = resp.bucket(p);
        }
    }
}
