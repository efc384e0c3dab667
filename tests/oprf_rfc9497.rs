//! RFC 9497 Appendix A.1.2 (ristretto255-SHA512, VOPRF mode): every test vector reproduced
//! through the crate's `ch2` core (spec §13), with the RFC's blinds and proof scalars given
//! explicitly through `blindrelay::hazmat`. The values are in
//! `tests/data/rfc9497_ristretto255_sha512.json`, copied from the RFC text.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use blindrelay::contact::{BlindedElement, EvaluatedElement, Evaluation, OraclePublicKey};
use blindrelay::hazmat;
use serde_json::Value;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfc9497_ristretto255_sha512.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    bytes(v).try_into().unwrap()
}

fn list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().unwrap().iter().map(bytes).collect()
}

#[test]
fn key_derivation_matches_rfc9497() {
    let d = load();
    let k = &d["key"];
    let derived =
        hazmat::oprf_oracle_key_with_info(&bytes(&k["Seed"]), &bytes(&k["KeyInfo"]), 0).unwrap();
    let pk_sm: [u8; 32] = arr(&k["pkSm"]);
    assert_eq!(derived.public_key().to_bytes(), pk_sm);
    // pkS = skS · G determines skS, so equal public keys pin skSm.
    let from_sk = hazmat::oprf_oracle_key_from_scalar(&arr(&k["skSm"]), 0).unwrap();
    assert_eq!(from_sk.public_key(), derived.public_key());
    assert_eq!(
        OraclePublicKey::from_bytes(pk_sm).unwrap(),
        derived.public_key()
    );
}

#[test]
fn every_voprf_vector_reproduces() {
    let d = load();
    let k = &d["key"];
    let key =
        hazmat::oprf_oracle_key_with_info(&bytes(&k["Seed"]), &bytes(&k["KeyInfo"]), 0).unwrap();
    let pk = key.public_key();
    let vectors = d["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    let mut batch_sizes = Vec::new();
    for v in vectors {
        let section = v["section"].as_str().unwrap();
        let inputs = list(&v["Input"]);
        let blinds: Vec<[u8; 32]> = list(&v["Blind"])
            .into_iter()
            .map(|b| b.try_into().unwrap())
            .collect();
        let input_refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        batch_sizes.push(inputs.len());

        // Client: Blind.
        let (state, blinded) = hazmat::oprf_blind_with(&input_refs, &blinds).unwrap();
        let want_blinded = list(&v["BlindedElement"]);
        assert_eq!(blinded.len(), want_blinded.len(), "{section}");
        for (b, want) in blinded.iter().zip(&want_blinded) {
            assert_eq!(
                b.to_bytes().as_slice(),
                want.as_slice(),
                "{section} BlindedElement"
            );
            // The oracle decodes what the client sent.
            assert_eq!(&BlindedElement::from_bytes(&b.to_bytes()).unwrap(), b);
        }

        // Oracle: BlindEvaluate, batched, with the RFC's proof scalar.
        let eval =
            hazmat::oprf_evaluate_with_proof_scalar(&key, &blinded, &arr(&v["ProofRandomScalar"]))
                .unwrap();
        let want_eval = list(&v["EvaluationElement"]);
        for (e, want) in eval.elements.iter().zip(&want_eval) {
            assert_eq!(
                e.to_bytes().as_slice(),
                want.as_slice(),
                "{section} EvaluationElement"
            );
        }
        assert_eq!(eval.proof.to_vec(), bytes(&v["Proof"]), "{section} Proof");

        // Client: Finalize from the RFC's bytes (decoded as from the wire).
        let wire = Evaluation {
            elements: want_eval
                .iter()
                .map(|e| EvaluatedElement::from_bytes(&e.clone().try_into().unwrap()).unwrap())
                .collect(),
            proof: arr(&v["Proof"]),
        };
        let outputs = hazmat::oprf_finalize_outputs(state, &pk, &wire).unwrap();
        let want_out = list(&v["Output"]);
        assert_eq!(outputs.len(), want_out.len());
        for (o, want) in outputs.iter().zip(&want_out) {
            assert_eq!(o.as_slice(), want.as_slice(), "{section} Output");
        }
    }
    assert_eq!(batch_sizes, [1, 1, 2], "the batch vector is included");
}

#[test]
fn the_rfc_proof_fails_under_another_key() {
    let d = load();
    let v = &d["vectors"][2];
    let inputs = list(&v["Input"]);
    let input_refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let blinds: Vec<[u8; 32]> = list(&v["Blind"])
        .into_iter()
        .map(|b| b.try_into().unwrap())
        .collect();
    let (state, _) = hazmat::oprf_blind_with(&input_refs, &blinds).unwrap();
    let other = hazmat::oprf_oracle_key_with_info(&[0xa4; 32], b"test key", 0).unwrap();
    let wire = Evaluation {
        elements: list(&v["EvaluationElement"])
            .iter()
            .map(|e| EvaluatedElement::from_bytes(&e.clone().try_into().unwrap()).unwrap())
            .collect(),
        proof: arr(&v["Proof"]),
    };
    assert_eq!(
        hazmat::oprf_finalize_outputs(state, &other.public_key(), &wire).unwrap_err(),
        blindrelay::Error::OprfProofInvalid
    );
}

/// Spec §13.2 and §13.3 from their literal bytes: the oracle key's `DeriveKeyPair` info and
/// the `ch2` id's HKDF over the RFC 9497 output, recomputed here independently of the
/// crate's constants.
#[test]
fn ch2_derivations_match_the_spec_bytes() {
    use blindrelay::contact::{ContactId, OracleKey};
    use hkdf::Hkdf;
    use sha2::Sha256;

    let seed = [0x42; 32];
    let epoch = 1u32;
    let key = OracleKey::derive(&seed, epoch).unwrap();
    let oracle_info = hex::decode(
        "626c696e6472656c61792076312063683220 6f7261636c65206b6579 00 00000001".replace(' ', ""),
    )
    .unwrap();
    assert_eq!(
        oracle_info,
        b"blindrelay v1 ch2 oracle key\x00\x00\x00\x00\x01"
    );
    let raw = hazmat::oprf_oracle_key_with_info(&seed, &oracle_info, epoch).unwrap();
    assert_eq!(raw.public_key(), key.public_key());

    let contacts = [
        ContactId::from_bytes([0x01; 32]),
        ContactId::from_bytes([0x02; 32]),
    ];
    let inputs: Vec<&[u8]> = contacts.iter().map(|c| c.as_bytes().as_slice()).collect();
    let blinds = [[0x03; 32], [0x04; 32]];
    let r = [0x05; 32];

    let (state, blinded) = hazmat::oprf_blind_with(&inputs, &blinds).unwrap();
    let eval = hazmat::oprf_evaluate_with_proof_scalar(&key, &blinded, &r).unwrap();
    let outputs = hazmat::oprf_finalize_outputs(state, &key.public_key(), &eval).unwrap();
    let (state, _) = hazmat::oprf_blind_with(&inputs, &blinds).unwrap();
    let ids = state.finalize(&key.public_key(), epoch, &eval).unwrap();

    // §13.2: info = "blindrelay v1 ch2 contact id" || 0x00 || BE32(1).
    let id_info = hex::decode(
        "626c696e6472656c61792076312063683220636f6e74616374206964 00 00000001".replace(' ', ""),
    )
    .unwrap();
    for ((output, id), contact) in outputs.iter().zip(&ids).zip(&contacts) {
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&[]), output.as_slice())
            .expand(&id_info, &mut okm)
            .unwrap();
        assert_eq!(id.as_bytes(), &okm);
        assert_eq!(&key.evaluate_unblinded(contact).unwrap(), id);
    }
}
