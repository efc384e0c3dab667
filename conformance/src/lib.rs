//! blindrelay's conformance suite as a library (the binary in `main.rs` is its CLI): `generate` writes `test-vectors/*.json` deterministically,
//! `verify` checks them against this crate, `check` regenerates in memory and fails on any
//! difference from the committed files, `drive` runs them against another implementation's
//! adapter (`driver`). See `test-vectors/README.md`.

pub mod bundles;
pub mod ch2;
pub mod contact;
pub mod driver;
pub mod envelope;
pub mod group;
pub mod handshake;
pub mod identities;
pub mod party;
pub mod primitives;
pub mod ratchet;
pub mod ratchet_edge;
pub mod relay;
pub mod route;
pub mod util;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub type Generator = fn() -> (String, Value);
pub type Verifier = fn(&Value) -> Result<(), String>;

/// Every vector file, in the order the spec introduces them.
pub const FILES: &[(Generator, Verifier)] = &[
    (primitives::generate, primitives::verify),
    (identities::generate, identities::verify),
    (bundles::generate, bundles::verify),
    (handshake::generate, handshake::verify),
    (ratchet::generate, ratchet::verify),
    (envelope::generate, envelope::verify),
    (route::generate, route::verify),
    (contact::generate, contact::verify),
    (ch2::generate, ch2::verify),
    (relay::generate, relay::verify),
    (group::generate, group::verify),
];

pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialize");
    s.push('\n');
    s
}

pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

pub fn verifier_for(name: &str) -> Option<Verifier> {
    FILES.iter().find(|(g, _)| g().0 == name).map(|(_, v)| *v)
}

pub fn verify_dir(dir: &Path) -> ExitCode {
    let (mut total_pass, mut total_fail) = (0usize, 0usize);
    for (gen, ver) in FILES {
        let name = gen().0;
        let path = dir.join(&name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                println!("{name}: cannot read {}: {e}", path.display());
                total_fail += 1;
                continue;
            }
        };
        let (pass, fail) = verify_file(&name, &text, *ver);
        println!("{name}: {pass} passed, {fail} failed");
        total_pass += pass;
        total_fail += fail;
    }
    println!("conformance: {total_pass} passed, {total_fail} failed");
    if total_fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn verify_file(name: &str, text: &str, ver: Verifier) -> (usize, usize) {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            println!("{name}: not JSON: {e}");
            return (0, 1);
        }
    };
    let tests = v["tests"].as_array().cloned().unwrap_or_default();
    if v["numberOfTests"].as_u64() != Some(tests.len() as u64) {
        println!("{name}: numberOfTests does not match the tests array");
        return (0, 1);
    }
    let (mut pass, mut fail) = (0, 0);
    for case in &tests {
        match ver(case) {
            Ok(()) => pass += 1,
            Err(e) => {
                fail += 1;
                println!(
                    "  FAIL {name} tcId {} ({}): {e}",
                    case["tcId"],
                    case["comment"].as_str().unwrap_or("")
                );
            }
        }
    }
    (pass, fail)
}

/// Which vector fields seed which fuzz target's corpus (`corpus` command).
pub const CORPUS_FIELDS: &[(&str, &[&str])] = &[
    ("bundle_decode", &["bundle"]),
    ("initial_decode", &["initialMessage"]),
    ("envelope_decode", &["envelope"]),
    ("envelope_open", &["envelope"]),
    ("pairwise_decode", &["envelope"]),
    ("lookup_request_decode", &["lookupRequest"]),
    ("lookup_response_decode", &["lookupResponse"]),
    (
        "oracle_decode",
        &["oracleParameters", "oprfRequest", "oprfResponse"],
    ),
    (
        "discovery_state_decode",
        &["lookupLedger", "generationMark"],
    ),
    (
        "relay_api_decode",
        &[
            "encoding",
            "publishRequest",
            "uploadKeysRequest",
            "claimResponse",
        ],
    ),
];

/// Writes every vector field named in [`CORPUS_FIELDS`] as a seed file under
/// `dir/<target>/`, named after the vector file, case and field. Returns the count.
pub fn write_corpus(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for (gen, _) in FILES {
        let (name, v) = gen();
        let stem = name.trim_end_matches(".json");
        let tests = v["tests"].as_array().cloned().unwrap_or_default();
        for (target, fields) in CORPUS_FIELDS {
            let out = dir.join(target);
            std::fs::create_dir_all(&out)?;
            for case in &tests {
                for field in *fields {
                    let Some(hex) = case.get(*field).and_then(Value::as_str) else {
                        continue;
                    };
                    let Ok(bytes) = hex::decode(hex) else {
                        continue;
                    };
                    std::fs::write(out.join(format!("{stem}-{}-{field}", case["tcId"])), bytes)?;
                    n += 1;
                }
            }
        }
    }
    n += ratchet::write_fuzz_seeds(dir)?;
    n += route::write_fuzz_seeds(dir)?;
    Ok(n)
}
