//! Spec ↔ code consistency: every label and limit in `src/` appears in `spec/` with the same
//! value, the error registry in `spec/errors.md` equals the code's, and the byte-level layers
//! do not import the crypto layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sources() -> Vec<(PathBuf, String)> {
    let mut v = Vec::new();
    files(&root().join("src"), "rs", &mut v);
    v.into_iter()
        .map(|p| {
            let t = fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect()
}

/// The §3.3 label registry: the first column of its table.
fn registry_labels() -> Vec<String> {
    let suite = fs::read_to_string(root().join("spec/03-suite.md")).unwrap();
    let registry = &suite[suite.find("## §3.3 Label registry").unwrap()..];
    registry
        .lines()
        .filter_map(|l| l.strip_prefix("| `blindrelay v1"))
        .map(|l| format!("blindrelay v1{}", &l[..l.find('`').unwrap()]))
        .collect()
}

#[test]
fn every_label_in_src_is_in_the_registry_and_labels_are_prefix_free() {
    let registry = registry_labels();
    let mut found = std::collections::BTreeSet::new();
    for (path, text) in sources() {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("b\"blindrelay v1") {
            let tail = &rest[i + 2..];
            let end = tail.find('"').unwrap();
            let label = &tail[..end];
            assert!(
                registry.iter().any(|r| r == label),
                "label `{label}` ({}) is not in the §3.3 registry",
                path.display()
            );
            found.insert(label.to_string());
            rest = &tail[end..];
        }
    }
    assert!(found.len() >= 17, "expected every label, found {found:?}");
    // Prefix-free (§3.3, separator rule): no label is a prefix of another.
    for a in &registry {
        for b in &registry {
            assert!(
                a == b || !b.starts_with(a.as_str()),
                "`{a}` is a prefix of `{b}`"
            );
        }
    }
    // Every registered label is used by the code.
    for r in &registry {
        assert!(
            found.contains(r),
            "registered label `{r}` is not used in src/"
        );
    }
}

/// Every limit constant's name found in `src/`, with its value as the code sees it. A new
/// limit must be added here and to `spec/10-limits.md`.
fn known_limits() -> Vec<(&'static str, u64)> {
    vec![
        (
            "MAX_PLAINTEXT_LEN",
            blindrelay::limits::MAX_PLAINTEXT_LEN as u64,
        ),
        (
            "MAX_RATCHET_MESSAGE_LEN",
            blindrelay::limits::MAX_RATCHET_MESSAGE_LEN as u64,
        ),
        ("MAX_SKIP", u64::from(blindrelay::ratchet::MAX_SKIP)),
        (
            "MAX_REPLAY_RECORDS_PER_SIGNED_PREKEY",
            blindrelay::keys::MAX_REPLAY_RECORDS_PER_SIGNED_PREKEY as u64,
        ),
        (
            "SIGNED_PREKEY_MAX_AGE",
            blindrelay::keys::SIGNED_PREKEY_MAX_AGE,
        ),
        ("SIGNED_PREKEY_GRACE", blindrelay::keys::SIGNED_PREKEY_GRACE),
        (
            "MAX_SEALING_KEYS",
            blindrelay::envelope::MAX_SEALING_KEYS as u64,
        ),
        (
            "SEALING_KEY_MAX_AGE",
            blindrelay::envelope::SEALING_KEY_MAX_AGE,
        ),
        ("SEALING_KEY_GRACE", blindrelay::envelope::SEALING_KEY_GRACE),
        (
            "MAX_PREVIOUS_SESSIONS",
            blindrelay::session::MAX_PREVIOUS_SESSIONS as u64,
        ),
        ("MAX_SLOT_LEN", blindrelay::session::MAX_SLOT_LEN as u64),
        (
            "MAX_SKIPPED_KEYS",
            blindrelay::ratchet::MAX_SKIPPED_KEYS as u64,
        ),
        (
            "MAX_RECEIVING_CHAINS",
            blindrelay::ratchet::MAX_RECEIVING_CHAINS as u64,
        ),
        ("MAX_BODY_LEN", blindrelay::wire::MAX_BODY_LEN as u64),
        (
            "MAX_SESSION_STATE_LEN",
            blindrelay::session::MAX_SESSION_STATE_LEN as u64,
        ),
        (
            "MAX_ENVELOPE_INNER_LEN",
            blindrelay::envelope::MAX_ENVELOPE_INNER_LEN as u64,
        ),
        (
            "MAX_ENVELOPE_CIPHERTEXT_LEN",
            blindrelay::envelope::MAX_ENVELOPE_CIPHERTEXT_LEN as u64,
        ),
        (
            "MAX_UNPADDED_LEN",
            blindrelay::envelope::MAX_UNPADDED_LEN as u64,
        ),
        (
            "MAX_PADDED_LEN",
            blindrelay::envelope::MAX_PADDED_LEN as u64,
        ),
        (
            "MIN_PADDED_LEN",
            blindrelay::envelope::MIN_PADDED_LEN as u64,
        ),
        (
            "FINGERPRINT_ITERATIONS",
            u64::from(blindrelay::fingerprint::FINGERPRINT_ITERATIONS),
        ),
        (
            "MAX_E164_DIGITS",
            blindrelay::contact::identifier::MAX_E164_DIGITS as u64,
        ),
        (
            "MAX_BUCKET_BITS",
            u64::from(blindrelay::contact::bucket::MAX_BUCKET_BITS),
        ),
        (
            "MAX_LOOKUP_PREFIXES",
            blindrelay::contact::wire::MAX_LOOKUP_PREFIXES as u64,
        ),
        (
            "MAX_OPRF_BATCH",
            blindrelay::contact::oprf::MAX_OPRF_BATCH as u64,
        ),
        (
            "MAX_BUCKET_ENTRIES",
            blindrelay::contact::wire::MAX_BUCKET_ENTRIES as u64,
        ),
        (
            "MAX_RECORD_LEN",
            blindrelay::contact::wire::MAX_RECORD_LEN as u64,
        ),
        (
            "MIN_MAX_SIZE_CLASS",
            u64::from(blindrelay::contact::MIN_MAX_SIZE_CLASS),
        ),
        (
            "MAX_PARAMETERS_LIFETIME_SECS",
            blindrelay::contact::MAX_PARAMETERS_LIFETIME_SECS,
        ),
        (
            "MIN_GENERATION_LIFETIME_SECS",
            blindrelay::contact::MIN_GENERATION_LIFETIME_SECS,
        ),
        (
            "DUMMY_DRAW_LIMIT",
            u64::from(blindrelay::contact::lookup::DUMMY_DRAW_LIMIT),
        ),
        (
            "MAX_LEDGER_CONTACTS",
            blindrelay::contact::lookup::MAX_LEDGER_CONTACTS as u64,
        ),
        (
            "MAX_LEDGER_BATCHES",
            blindrelay::contact::lookup::MAX_LEDGER_BATCHES as u64,
        ),
        (
            "MAX_LEDGER_PREFIXES",
            blindrelay::contact::lookup::MAX_LEDGER_PREFIXES as u64,
        ),
        (
            "MAX_WATCHED_MAILBOXES",
            blindrelay::session::MAX_WATCHED_MAILBOXES as u64,
        ),
        (
            "MAX_PAIRWISE_PLAINTEXT_LEN",
            blindrelay::envelope::MAX_PAIRWISE_PLAINTEXT_LEN as u64,
        ),
        (
            "MAX_PAIRWISE_BODY_LEN",
            blindrelay::envelope::MAX_PAIRWISE_BODY_LEN as u64,
        ),
        ("PROBE_FIRST", u64::from(blindrelay::session::PROBE_FIRST)),
        (
            "PAIRWISE_OVERHEAD",
            blindrelay::envelope::PAIRWISE_OVERHEAD as u64,
        ),
        // The relay API (spec §12).
        (
            "MAX_CLOCK_SKEW_SECS",
            blindrelay::relay::MAX_CLOCK_SKEW_SECS,
        ),
        (
            "MAX_PUBLICATION_LIFETIME_SECS",
            blindrelay::relay::MAX_PUBLICATION_LIFETIME_SECS,
        ),
        ("MAX_UPLOAD_KEYS", blindrelay::relay::MAX_UPLOAD_KEYS as u64),
        (
            "MAX_FETCH_LIMIT",
            u64::from(blindrelay::relay::MAX_FETCH_LIMIT),
        ),
        (
            "MAX_SUBSCRIPTIONS",
            blindrelay::relay::MAX_SUBSCRIPTIONS as u64,
        ),
        ("MAX_DEPOSIT_LEN", blindrelay::relay::MAX_DEPOSIT_LEN as u64),
        ("MAX_REQUEST_LEN", blindrelay::relay::MAX_REQUEST_LEN as u64),
        (
            "MAX_GROUP_BODY_LEN",
            blindrelay::group::MAX_GROUP_BODY_LEN as u64,
        ),
        (
            "MAX_GROUP_ENVELOPE_LEN",
            blindrelay::group::MAX_GROUP_ENVELOPE_LEN as u64,
        ),
    ]
}

#[test]
fn every_limit_is_in_the_limits_table_with_its_value() {
    let table = fs::read_to_string(root().join("spec/10-limits.md")).unwrap();
    let known = known_limits();
    for (path, text) in sources() {
        for line in text.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("pub const MAX_") else {
                continue;
            };
            let name = format!("MAX_{}", rest.split(':').next().unwrap());
            assert!(
                known.iter().any(|(n, _)| *n == name),
                "limit {name} ({}) is missing from known_limits() in this test",
                path.display()
            );
        }
    }
    for (name, value) in known {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{name} is not in spec/10-limits.md"));
        let cell = row.split('|').nth(2).unwrap().trim();
        assert_eq!(
            cell,
            value.to_string(),
            "{name}: spec says {cell}, code says {value}"
        );
    }
}

#[test]
fn the_error_registry_matches_the_spec() {
    let text = fs::read_to_string(root().join("spec/errors.md")).unwrap();
    let rows: Vec<(u16, String)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse::<u16>().ok()?;
            Some((code, cells.get(2)?.to_string()))
        })
        .collect();
    let code: Vec<(u16, String)> = blindrelay::Error::REGISTRY
        .iter()
        .map(|(c, n)| (*c, n.to_string()))
        .collect();
    assert_eq!(rows, code, "spec/errors.md and Error::REGISTRY differ");
}

#[test]
fn codec_and_wire_do_not_import_crypto() {
    for (path, text) in sources() {
        let s = path.to_string_lossy();
        if s.contains("/src/codec/") || s.contains("/src/wire/") {
            let text: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !text.contains("crate::crypto"),
                "{s} imports the crypto layer"
            );
            assert!(!text.contains("crate::keys"), "{s} imports the keys layer");
        }
    }
}
