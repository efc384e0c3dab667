//! The driver protocol end to end: the runner passes every committed vector file against
//! the reference adapter, catches each deliberately broken adapter in the file and case
//! the fault touches, and counts unsupported operations as skips, not failures.

use blindrelay_conformance::default_dir;
use blindrelay_conformance::driver::{drive_dir, Adapter, FileReport, Reply};

const ADAPTER: &str = env!("CARGO_BIN_EXE_blindrelay-adapter");

fn drive(args: &[&str]) -> Vec<FileReport> {
    let mut command = vec![ADAPTER.to_string()];
    command.extend(args.iter().map(|a| a.to_string()));
    drive_dir(&default_dir(), &command).expect("the adapter starts")
}

fn totals(reports: &[FileReport]) -> (usize, usize, usize) {
    reports.iter().fold((0, 0, 0), |(p, f, s), r| {
        (p + r.pass, f + r.fail, s + r.skip)
    })
}

fn file<'a>(reports: &'a [FileReport], name: &str) -> &'a FileReport {
    reports
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} was driven"))
}

/// The files whose every kind the runner translates; a file added later must have no
/// failures, and its kinds need an arm in `driver::drive_case` (until then they are skipped,
/// and listed by `drive`) before it joins this list.
const DRIVEN: &[&str] = &[
    "primitives.json",
    "identities.json",
    "bundles.json",
    "handshake.json",
    "ratchet.json",
    "envelope.json",
    "route.json",
    "contact.json",
    "ch2.json",
    "relay.json",
    "group.json",
];

/// Kinds the runner leaves to another tool: `relay-transcript` is replayed over HTTP by
/// `relay-conformance URL` (`relay/tests/conformance.rs` runs it on the reference relay).
const NOT_DRIVEN: &[&str] = &["relay-transcript"];

#[test]
fn reference_adapter_passes_every_vector_file() {
    let reports = drive(&[]);
    for r in &reports {
        assert_eq!(r.fail, 0, "{}: {:#?}", r.name, r.failures);
    }
    for name in DRIVEN {
        let r = file(&reports, name);
        // Every case of the file was driven and passed, except the kinds left to another
        // tool.
        let text = std::fs::read_to_string(default_dir().join(name)).expect("read");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let tests = v["tests"].as_array().expect("tests");
        let elsewhere = tests
            .iter()
            .filter(|c| NOT_DRIVEN.iter().any(|k| c["kind"] == *k))
            .count();
        assert_eq!(r.skip, elsewhere, "{name}: {:#?}", r.skips);
        assert!(!tests.is_empty(), "{name} has no cases");
        assert_eq!(r.pass, tests.len() - elsewhere, "{name}");
    }
    // Every file is in DRIVEN.
    assert_eq!(reports.len(), DRIVEN.len());
}

#[test]
fn broken_encrypt_is_caught_in_every_transcript() {
    let reports = drive(&["--broken"]);
    let r = file(&reports, "ratchet.json");
    let transcripts = r
        .failures
        .iter()
        .filter(|f| f.contains("[transcript]"))
        .count();
    assert_eq!(r.fail, transcripts);
    assert!(transcripts >= 3, "{:#?}", r.failures);
    assert!(
        r.failures[0].contains("`wire` mismatch"),
        "{}",
        r.failures[0]
    );
    // Nothing else is affected: the failures are exactly where the fault is.
    assert_eq!(totals(&reports).1, r.fail);
}

#[test]
fn broken_error_codes_are_caught() {
    let reports = drive(&["--broken=error-code"]);
    let r = file(&reports, "ratchet.json");
    assert!(r.fail >= 2, "{:#?}", r.failures);
    assert!(r
        .failures
        .iter()
        .any(|f| f.contains("expected error 400 (TooManySkipped), got error 200 (Decrypt)")));
    assert!(r
        .failures
        .iter()
        .any(|f| f.contains("expected error 302 (SessionMismatch), got error 200 (Decrypt)")));
}

#[test]
fn broken_store_rollback_is_caught() {
    let reports = drive(&["--broken=store"]);
    let r = file(&reports, "handshake.json");
    assert!(r.fail >= 1, "{:#?}", r.failures);
    assert!(r.failures.iter().all(|f| (f.contains("[accept-negative]")
        || f.contains("[accept-envelope-negative]"))
        && f.contains("changed the store")));
    // Both routes to accept are caught: the raw initial message and the sealed envelope.
    for kind in ["[accept-negative]", "[accept-envelope-negative]"] {
        assert!(
            r.failures.iter().any(|f| f.contains(kind)),
            "{kind}: {:#?}",
            r.failures
        );
    }
    assert_eq!(totals(&reports).1, r.fail);
}

#[test]
fn broken_mailbox_check_is_caught() {
    let reports = drive(&["--broken=mailbox"]);
    let r = file(&reports, "envelope.json");
    assert_eq!(r.fail, 1, "{:#?}", r.failures);
    assert!(
        r.failures[0].contains("[envelope-open] (opened for another mailbox)")
            && r.failures[0].contains("expected error 500, but the operation succeeded"),
        "{}",
        r.failures[0]
    );
    assert_eq!(totals(&reports).1, r.fail);
}

#[test]
fn broken_strict_e164_parser_is_caught() {
    let reports = drive(&["--broken=e164"]);
    let r = file(&reports, "contact.json");
    // The space and the trailing newline are stripped, so those two cases parse.
    assert_eq!(r.fail, 2, "{:#?}", r.failures);
    assert!(r
        .failures
        .iter()
        .all(|f| f.contains("[e164-canonical]") && f.contains("but the operation succeeded")));
    assert_eq!(totals(&reports).1, r.fail);
}

/// Drives one broken mode and checks that it fails exactly in `file`, only in cases of
/// `kind`, at least `min` times, and that every failure names one of `expected`.
fn caught_only(mode: &str, file_name: &str, kind: &str, min: usize, expected: &[&str]) {
    let reports = drive(&[mode]);
    let r = file(&reports, file_name);
    assert!(r.fail >= min, "{mode}: {:#?}", r.failures);
    for f in &r.failures {
        assert!(f.contains(&format!("[{kind}]")), "{mode}: {f}");
        assert!(expected.iter().any(|e| f.contains(e)), "{mode}: {f}");
    }
    assert_eq!(totals(&reports).1, r.fail, "{mode} fails elsewhere too");
}

#[test]
fn broken_ed25519_bare_equation_is_caught() {
    // Non-canonical S, small-order R and small-order or non-canonical keys (§3.1).
    caught_only(
        "--broken=ed25519",
        "primitives.json",
        "ed25519-verify",
        6,
        &["expected error 201", "expected error 203"],
    );
}

#[test]
fn broken_lenient_state_decoder_is_caught() {
    // Every InvalidEncoding rule of §7.8, not the length or truncation rules.
    caught_only(
        "--broken=state",
        "ratchet.json",
        "state-negative",
        15,
        &["expected error 105, but the operation succeeded"],
    );
}

#[test]
fn broken_off_by_one_modulus_check_is_caught() {
    caught_only(
        "--broken=mlkem",
        "primitives.json",
        "ml-kem-768-ek",
        2,
        &[
            "exactly q",
            "expected error 203, but the operation succeeded",
        ],
    );
}

#[test]
fn broken_check_order_is_caught() {
    caught_only(
        "--broken=check-order",
        "envelope.json",
        "envelope-open",
        1,
        &["expected error 100 (Truncated), got error 105"],
    );
}

#[test]
fn broken_ch2_id_truncation_is_caught() {
    // The ch2 id taken as the first 32 bytes of the RFC 9497 output instead of its HKDF
    // with the key epoch (§13.2): every derivation of an id fails, nothing else.
    let reports = drive(&["--broken=ch2-id"]);
    let r = file(&reports, "ch2.json");
    assert_eq!(r.fail, 4, "{:#?}", r.failures);
    for f in &r.failures {
        assert!(
            (f.contains("[ch2-id]") && f.contains("ch2.id: `ch2Id` mismatch"))
                || (f.contains("[ch2-evaluation]")
                    && f.contains("oprf.finalize_response: `ch2Ids` mismatch")),
            "{f}"
        );
    }
    assert_eq!(
        r.failures.iter().filter(|f| f.contains("[ch2-id]")).count(),
        3
    );
    assert_eq!(totals(&reports).1, r.fail, "fails elsewhere too");
}

#[test]
fn unsupported_operations_are_skipped_not_failed() {
    let reports = drive(&["--unsupported", "mlkem."]);
    assert_eq!(totals(&reports).1, 0);
    let r = file(&reports, "primitives.json");
    // Every ML-KEM case, counted from the file.
    let text =
        std::fs::read_to_string(blindrelay_conformance::default_dir().join("primitives.json"))
            .expect("primitives.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let ml_kem = v["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|c| c["kind"].as_str().is_some_and(|k| k.starts_with("ml-kem")))
        .count();
    assert!(ml_kem >= 2);
    assert_eq!(r.skip, ml_kem, "{:#?}", r.skips);
    assert!(r
        .skips
        .iter()
        .all(|s| s.contains("mlkem.") && s.contains("unsupported")));
    for name in DRIVEN.iter().filter(|n| **n != "primitives.json") {
        let skipped = &file(&reports, name).skips;
        assert!(
            skipped.iter().all(|s| s.contains("[relay-transcript]")),
            "{name}: {skipped:#?}"
        );
    }
}

#[test]
fn protocol_basics() {
    let mut a = Adapter::spawn(&[ADAPTER.to_string()]).expect("start");
    assert_eq!(a.spec_version, blindrelay::SPEC_VERSION);
    assert_eq!(
        a.call("no.such.op", serde_json::json!({})).expect("reply"),
        Reply::Unsupported
    );
    // A library error comes back with its registry code and name.
    let r = a
        .call(
            "x25519",
            serde_json::json!({ "scalar": "11".repeat(32), "u": "00".repeat(32) }),
        )
        .expect("reply");
    assert_eq!(
        r,
        Reply::Error {
            code: blindrelay::Error::NonContributory.code(),
            name: blindrelay::Error::NonContributory.name().to_string(),
        }
    );
    // A command that does not exist is reported, not hung on.
    assert!(Adapter::spawn(&["/nonexistent/blindrelay-adapter".to_string()]).is_err());
}
