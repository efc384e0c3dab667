//! `identities.json`: identity derivation from a seed (spec §4.1) and safety numbers (§4.3).

use crate::util::*;
use blindrelay::fingerprint::{fingerprint_half, SafetyNumber};
use blindrelay::IdentityKeyPair;
use serde_json::{json, Value};

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "identities.json",
        "Identity key derivation from a 32-byte seed, and safety numbers (fingerprints) of identity pairs.",
        &["§4.1", "§4.2", "§4.3"],
    );
    let mut r = rng("identities");
    let seeds: Vec<[u8; 32]> = (0..3).map(|_| fill::<32>(&mut r)).collect();
    for (i, seed) in seeds.iter().enumerate() {
        let id = IdentityKeyPair::from_seed(seed);
        let (ed, x) = blindrelay::hazmat::identity_secrets(seed);
        f.valid(
            "identity",
            &format!("identity {i}"),
            json!({
            "seed": h(seed), "ed25519Seed": h(*ed), "x25519Secret": h(*x),
            "signingPublic": h(id.public().signing), "agreementPublic": h(id.public().agreement),
            "identityPublic": h(id.public().to_array()) }),
        );
    }
    for (a, b) in [(0, 1), (1, 2), (2, 0)] {
        let (ia, ib) = (
            IdentityKeyPair::from_seed(&seeds[a]),
            IdentityKeyPair::from_seed(&seeds[b]),
        );
        let sn = SafetyNumber::new(ia.public(), ib.public());
        f.valid("safety-number", &format!("identities {a} and {b}"), json!({
            "identityA": h(ia.public().to_array()), "identityB": h(ib.public().to_array()),
            "fingerprintA": h(fingerprint_half(ia.public())), "fingerprintB": h(fingerprint_half(ib.public())),
            "displayable": sn.displayable(), "scannable": h(sn.scannable()) }));
    }
    f.build()
}

fn identity_public(case: &Value, key: &str) -> Result<blindrelay::IdentityPublicKey, String> {
    let b = arr::<64>(case, key)?;
    let mut signing = [0u8; 32];
    let mut agreement = [0u8; 32];
    signing.copy_from_slice(&b[..32]);
    agreement.copy_from_slice(&b[32..]);
    Ok(blindrelay::IdentityPublicKey { signing, agreement })
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "identity" => {
            let seed = arr::<32>(case, "seed")?;
            let (ed, x) = blindrelay::hazmat::identity_secrets(&seed);
            expect_eq(case, "ed25519Seed", *ed)?;
            expect_eq(case, "x25519Secret", *x)?;
            let id = IdentityKeyPair::from_seed(&seed);
            expect_eq(case, "signingPublic", id.public().signing)?;
            expect_eq(case, "agreementPublic", id.public().agreement)?;
            expect_eq(case, "identityPublic", id.public().to_array())
        }
        "safety-number" => {
            let (a, b) = (
                identity_public(case, "identityA")?,
                identity_public(case, "identityB")?,
            );
            expect_eq(case, "fingerprintA", fingerprint_half(&a))?;
            expect_eq(case, "fingerprintB", fingerprint_half(&b))?;
            for sn in [SafetyNumber::new(&a, &b), SafetyNumber::new(&b, &a)] {
                if sn.displayable() != string(case, "displayable")? {
                    return Err(format!(
                        "displayable mismatch: computed {}",
                        sn.displayable()
                    ));
                }
                expect_eq(case, "scannable", sn.scannable())?;
            }
            Ok(())
        }
        other => Err(format!("unknown kind {other}")),
    }
}
