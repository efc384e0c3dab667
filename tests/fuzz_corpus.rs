//! Replays every checked-in fuzz corpus file through its target's oracle, so `cargo test`
//! catches a regression on any input the fuzzers ever kept, without nightly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::PathBuf;

#[test]
fn replay_fuzz_corpora() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (target, _) in blindrelay::fuzzing::TARGETS {
        let dir = root.join(target);
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("{}: {e} (every target keeps a seed corpus)", dir.display())
        });
        for entry in entries {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            assert!(blindrelay::fuzzing::run(target, &data));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no corpus files found");
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let manifest =
        fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.toml"))
            .unwrap();
    for (target, _) in blindrelay::fuzzing::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no [[bin]] for {target}"
        );
    }
}
