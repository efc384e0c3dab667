//! The demo's conversation outcomes (what the old `examples/relay_demo.rs` asserted, now
//! over the real relay): every message arrives exactly once, in the sender's order after
//! reordering, through the right kind of envelope; the pools shrink by one per claim.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use blindrelay_demo::{run, Report, POOL};

async fn demo() -> (Report, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let report = run(dir.path(), &mut out).await.unwrap();
    (report, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_arrives_once_in_order() {
    let (report, out) = demo().await;
    assert!(out.contains("relay-view check: PASSED"), "{out}");
    assert!(report.findings.is_empty(), "{:?}", report.findings);

    // Exactly once, to the right recipient, from the right sender; the unread ones never.
    assert_eq!(report.sent.len(), 25);
    for s in &report.sent {
        let n = report
            .delivered
            .iter()
            .filter(|d| d.to == s.to && d.from == s.from && d.text == s.text)
            .count();
        assert_eq!(n, usize::from(!s.unread), "{s:?}");
    }
    assert_eq!(
        report.delivered.len(),
        report.sent.iter().filter(|s| !s.unread).count()
    );
    assert_eq!(report.sent.iter().filter(|s| s.unread).count(), 2);

    // Per sender and recipient, the positions sort the messages into the order sent,
    // whatever order they arrived in (the session's first message has no position).
    let pairs = [
        ("Alice", "Bob"),
        ("Alice", "Carol"),
        ("Bob", "Alice"),
        ("Carol", "Alice"),
    ];
    for (from, to) in pairs {
        let sent: Vec<&str> = report
            .sent
            .iter()
            .filter(|s| s.from == from && s.to == to && !s.unread)
            .map(|s| s.text.as_str())
            .collect();
        let mut got: Vec<_> = report
            .delivered
            .iter()
            .filter(|d| d.from == from && d.to == to)
            .map(|d| (d.position, d.text.as_str()))
            .collect();
        got.sort_by_key(|(p, _)| *p);
        let got: Vec<&str> = got.into_iter().map(|(_, t)| t).collect();
        assert_eq!(got, sent, "{from} -> {to}");
    }
    // The reversed batch did arrive reversed, and Carol's probe overtook her notes.
    let arrival = |from: &str, to: &str| -> Vec<&str> {
        report
            .delivered
            .iter()
            .filter(|d| d.from == from && d.to == to)
            .map(|d| d.text.as_str())
            .collect()
    };
    let bob = arrival("Alice", "Bob");
    let i = bob.iter().position(|t| *t == "Great, thank you!").unwrap();
    assert_eq!(
        bob[i - 2..=i],
        [
            "Or three, Carol may come.",
            "Table for two?",
            "Great, thank you!"
        ]
    );
    let alice = arrival("Carol", "Alice");
    assert_eq!(
        alice[1], "Carol's note number 3",
        "the probe is fetched first"
    );

    // Envelope kinds: first flights sealed, the 4th unanswered message a probe, the rest
    // pairwise.
    let kinds = |kind: &str| report.sent.iter().filter(|s| s.kind == kind).count();
    assert_eq!(
        kinds("sealed"),
        7,
        "3 to Bob, 3 to Carol, Carol's first to Bob"
    );
    assert_eq!(kinds("probe"), 1);
    assert_eq!(kinds("pairwise"), 17);
    let probe = report.sent.iter().find(|s| s.kind == "probe").unwrap();
    assert_eq!(probe.text, "Carol's note number 3");

    // Pushes, pools, the relay's restart.
    assert_eq!(report.delivered.iter().filter(|d| d.pushed).count(), 3);
    assert!(report
        .delivered
        .iter()
        .filter(|d| d.pushed)
        .all(|d| d.to == "Carol"));
    let pool = u32::try_from(POOL).unwrap();
    assert_eq!(report.bob_pool, [pool, pool - 1, pool - 2]);
    assert_eq!(report.waiting_at_restart, 5);
    assert_ne!(report.ports.0, report.ports.1);
    assert!(out.contains("1 session restored"), "{out}");
    assert!(
        out.lines().count() < 110,
        "readable output: {} lines",
        out.lines().count()
    );
}

/// The group part (spec §15) end to end through the relay: it checks its own outcomes
/// (joins, one message read by every member, the slot refusals, the removal, the relay's
/// files) and fails on any deviation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blind_group_part_runs_and_hides_the_group_from_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    blindrelay_demo::group::run(dir.path(), &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Carol reads a commit removing it"), "{out}");
    assert!(
        out.contains("Dave reads \"Carol cannot read this.\" from Bob"),
        "{out}"
    );
    assert!(out.contains("CommitSlotTaken (812)"), "{out}");
    assert!(out.contains("not the group id"), "{out}");
}
