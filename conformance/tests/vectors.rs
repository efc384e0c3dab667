//! `cargo test` runs the conformance suite over the committed vectors and checks that the
//! generator reproduces them byte for byte.

use blindrelay_conformance::{default_dir, render, verify_file, FILES};

#[test]
fn committed_vectors_verify_and_are_reproducible() {
    let dir = default_dir();
    for (gen, ver) in FILES {
        let (name, value) = gen();
        let committed = std::fs::read_to_string(dir.join(&name)).expect("vector file exists");
        assert_eq!(
            committed,
            render(&value),
            "{name} is stale: regenerate the vectors"
        );
        let (pass, fail) = verify_file(&name, &committed, *ver);
        assert_eq!(fail, 0, "{name}: {fail} cases failed");
        assert!(pass > 0, "{name} has no cases");
    }
}

#[test]
fn a_corrupted_vector_is_caught() {
    // The runner must fail a file whose expected value was altered.
    let (name, mut value) = blindrelay_conformance::primitives::generate();
    value["tests"][0]["output"] = serde_json::json!("00".repeat(32));
    let (_, fail) = verify_file(
        &name,
        &render(&value),
        blindrelay_conformance::primitives::verify,
    );
    assert_eq!(fail, 1);
}

#[test]
fn a_wrong_rfc9497_proof_or_ch2_id_is_caught() {
    // The RFC 9497 vectors and the ch2 ids are recomputed, not only compared.
    let (name, value) = blindrelay_conformance::ch2::generate();
    let tests = value["tests"].as_array().expect("tests");
    let rfc = tests
        .iter()
        .position(|c| c["kind"] == "rfc9497-voprf")
        .expect("an RFC case");
    let id = tests
        .iter()
        .position(|c| c["kind"] == "ch2-id")
        .expect("a ch2-id case");
    let mut bad = value.clone();
    bad["tests"][rfc]["proof"] = serde_json::json!("00".repeat(64));
    bad["tests"][id]["ch2Id"] = serde_json::json!("00".repeat(32));
    let (_, fail) = verify_file(&name, &render(&bad), blindrelay_conformance::ch2::verify);
    assert_eq!(fail, 2);
}
