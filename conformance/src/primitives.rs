//! `primitives.json`: the suite's primitives pinned by their RFCs' published vectors, exactly
//! as the spec uses them (spec §3). The expected values are copied from the RFCs, not computed.

use crate::util::*;
use blindrelay::crypto::{aead, dh, kdf, kem, sig};
use serde_json::{json, Value};
use sha2::Digest;

const SUNSCREEN: &str = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "primitives.json",
        "Primitive pins: RFC 7748 X25519, RFC 8032 Ed25519, RFC 8439 ChaCha20-Poly1305, draft-irtf-cfrg-xchacha XChaCha20-Poly1305, RFC 5869 HKDF-SHA256, RFC 4231 HMAC-SHA256, FIPS 180-4 SHA-2, and an ML-KEM-768 regression pin.",
        &["§3.1", "§3.2"],
    );
    f.note("LowOrderPoint", "EDGE_CASE", "X25519 with a low-order u-coordinate gives the all-zero output, which the protocol rejects as non-contributory (RFC 7748 §6.1).");
    f.note(
        "ModifiedTag",
        "AUTH_BYPASS",
        "The AEAD tag was modified; opening must fail.",
    );
    f.note("InvalidKey", "MODIFIED_PARAMETER", "An ML-KEM-768 encapsulation key with a coefficient >= q fails the FIPS 203 §7.2 modulus check.");
    f.valid(
        "x25519",
        "RFC 7748 §5.2 test 1",
        json!({
        "scalar": "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "u": "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "output": "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" }),
    );
    f.valid(
        "x25519",
        "RFC 7748 §5.2 test 2",
        json!({
        "scalar": "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "u": "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "output": "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" }),
    );
    f.valid(
        "x25519",
        "RFC 7748 §6.1 Alice's secret and Bob's public key",
        json!({
        "scalar": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "u": "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "output": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" }),
    );
    f.valid(
        "x25519",
        "RFC 7748 §6.1 Bob's secret and Alice's public key",
        json!({
        "scalar": "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "u": "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "output": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" }),
    );
    f.invalid(
        "x25519",
        "u = 0 (low order) gives the all-zero output",
        &["LowOrderPoint"],
        json!({
        "scalar": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "u": "0000000000000000000000000000000000000000000000000000000000000000" }),
        blindrelay::Error::NonContributory,
    );
    f.invalid(
        "x25519",
        "u = 1 (low order) gives the all-zero output",
        &["LowOrderPoint"],
        json!({
        "scalar": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "u": "0100000000000000000000000000000000000000000000000000000000000000" }),
        blindrelay::Error::NonContributory,
    );
    f.valid("ed25519", "RFC 8032 §7.1 TEST 1", json!({
        "secretKey": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "publicKey": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "message": "",
        "signature": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" }));
    f.valid("ed25519", "RFC 8032 §7.1 TEST 2", json!({
        "secretKey": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "publicKey": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "message": "72",
        "signature": "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" }));
    f.valid("ed25519", "RFC 8032 §7.1 TEST 3", json!({
        "secretKey": "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "publicKey": "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "message": "af82",
        "signature": "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" }));
    let aead_fields = json!({
        "key": "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        "nonce": "070000004041424344454647",
        "aad": "50515253c0c1c2c3c4c5c6c7",
        "plaintext": hex::encode(SUNSCREEN),
        "ciphertext": "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
        "tag": "1ae10b594f09e26a7e902ecbd0600691" });
    f.valid("chacha20poly1305", "RFC 8439 §2.8.2", aead_fields.clone());
    let mut bad = aead_fields;
    bad["tag"] = json!("1ae10b594f09e26a7e902ecbd0600690");
    f.invalid(
        "chacha20poly1305",
        "RFC 8439 §2.8.2 with the last tag bit flipped",
        &["ModifiedTag"],
        bad,
        blindrelay::Error::Decrypt,
    );
    f.valid("xchacha20poly1305", "draft-irtf-cfrg-xchacha-03 §A.3.1", json!({
        "key": "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
        "nonce": "404142434445464748494a4b4c4d4e4f5051525354555657",
        "aad": "50515253c0c1c2c3c4c5c6c7",
        "plaintext": hex::encode(SUNSCREEN),
        "ciphertext": "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e",
        "tag": "c0875924c1c7987947deafd8780acf49" }));
    f.valid("hkdf-sha256", "RFC 5869 A.1 (test case 1)", json!({
        "ikm": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "salt": "000102030405060708090a0b0c",
        "info": "f0f1f2f3f4f5f6f7f8f9",
        "okm": "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" }));
    f.valid("hkdf-sha256", "RFC 5869 A.3 (test case 3: empty salt and info, as the identity derivation uses)", json!({
        "ikm": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "salt": "",
        "info": "",
        "okm": "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" }));
    f.valid(
        "hmac-sha256",
        "RFC 4231 §4.3 (test case 2)",
        json!({
        "key": hex::encode("Jefe"),
        "data": hex::encode("what do ya want for nothing?"),
        "mac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" }),
    );
    f.valid(
        "sha256",
        "FIPS 180-2 B.1 (\"abc\")",
        json!({
        "message": "616263",
        "digest": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" }),
    );
    f.valid("sha512", "FIPS 180-2 C.1 (\"abc\")", json!({
        "message": "616263",
        "digest": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" }));
    // ML-KEM-768: a regression pin generated by libcrux-ml-kem (formally verified); the
    // full encapsulation key and ciphertext are given so another implementation can compare.
    let mut r = rng("primitives ml-kem");
    let seed: [u8; 64] = fill(&mut r);
    let m: [u8; 32] = fill(&mut r);
    let ek = kem::encapsulation_key(&seed);
    let (ct, ss) = kem::encapsulate(&ek, &m).expect("valid key");
    f.valid("ml-kem-768", "FIPS 203 ML-KEM.KeyGen_internal(d, z) from seed = d || z, then Encaps_internal(ek, m); regression pin from libcrux-ml-kem", json!({
        "seed": h(seed), "encapsulationKey": h(ek), "m": h(m), "ciphertext": h(ct), "sharedSecret": h(*ss),
        "encapsulationKeySha256": h(sha2::Sha256::digest(ek)) }));
    let mut bad_ek = ek;
    bad_ek[0] = 0xff;
    bad_ek[1] |= 0x0f;
    f.invalid(
        "ml-kem-768-ek",
        "first coefficient 0xfff >= q",
        &["InvalidKey"],
        json!({ "encapsulationKey": h(bad_ek) }),
        blindrelay::Error::InvalidPublicKey,
    );
    ml_kem_bound_cases(&mut f, &ek);
    ed25519_edge_cases(&mut f);
    f.build()
}

/// Sets coefficient `i` (0..768) of an ML-KEM-768 encapsulation key's `ByteEncode12`
/// vector to `v` (FIPS 203 §4.2.1: two 12-bit coefficients per 3 bytes, little-endian).
fn set_coefficient(ek: &mut [u8], i: usize, v: u16) {
    let at = 3 * (i / 2);
    if i % 2 == 0 {
        ek[at] = (v & 0xff) as u8;
        ek[at + 1] = (ek[at + 1] & 0xf0) | (v >> 8) as u8;
    } else {
        ek[at + 1] = (ek[at + 1] & 0x0f) | ((v & 0x0f) << 4) as u8;
        ek[at + 2] = (v >> 4) as u8;
    }
}

/// The modulus check at its bound (FIPS 203 §7.2): a coefficient equal to q = 3329 fails,
/// one equal to q − 1 passes (first and last coefficient of the vector).
fn ml_kem_bound_cases(f: &mut FileBuilder, ek: &[u8; 1184]) {
    for (i, where_) in [(0usize, "first"), (767, "last")] {
        let mut bad = *ek;
        set_coefficient(&mut bad, i, 3329);
        f.invalid(
            "ml-kem-768-ek",
            &format!("{where_} coefficient exactly q = 3329"),
            &["InvalidKey"],
            json!({ "encapsulationKey": h(bad) }),
            blindrelay::Error::InvalidPublicKey,
        );
        let mut edge = *ek;
        set_coefficient(&mut edge, i, 3328);
        let m = [0u8; 32];
        let (ct, ss) = kem::encapsulate(&edge, &m).expect("q - 1 passes");
        f.valid(
            "ml-kem-768-ek",
            &format!("{where_} coefficient q - 1 = 3328: passes the check; Encaps_internal with m = 0 (regression pin from libcrux-ml-kem)"),
            json!({ "encapsulationKey": h(edge), "m": h(m), "ciphertext": h(ct), "sharedSecret": h(*ss) }),
        );
    }
}

/// Ed25519 verification edge cases (spec §3.1), in the spirit of Wycheproof and of
/// Chalkias et al., "Taming the many EdDSAs" (2020): signatures built here with
/// `curve25519-dalek` from a known secret scalar, each accepted by some verifiers
/// (cofactored, or without the small-order and canonicity checks) and refused by §3.1's.
fn ed25519_edge_cases(f: &mut FileBuilder) {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::Identity;
    f.note(
        "NonCanonicalS",
        "SIGNATURE_MALLEABILITY",
        "S + l: the same signature with a non-canonical S; strict verification requires S < l.",
    );
    f.note("SmallOrderR", "EDGE_CASE", "R is a small-order point and S = k*a: a verifier that checks only [S]B = R + [k]A (with R the identity) or the cofactored equation accepts; §3.1 refuses a small-order R.");
    f.note("CofactoredOnly", "EDGE_CASE", "A signature (or key) with a small-order component that only the cofactored equation [8][S]B = [8]R + [8][k]A accepts; §3.1's verifier is cofactorless.");
    f.note("SmallOrderKey", "WEAK_PUBLIC_KEY", "A small-order public key: with A the identity, (R = rB, S = r) verifies for every message under the bare equation; §3.1 refuses the key (203).");
    f.note("NonCanonicalKey", "EDGE_CASE", "A public key encoded with y >= p (a large-order point): decoders that reduce y accept it; §3.1 refuses it (203) before looking at the signature.");
    f.note("NonCanonicalR", "EDGE_CASE", "R encoded with y >= p: no signer knows such a point's discrete logarithm, so it never verifies (201).");
    f.note(
        "Undecodable",
        "EDGE_CASE",
        "An encoding that is no curve point (y = 2).",
    );
    f.note("EdgeKey", "EDGE_CASE", "A canonical encoding whose bytes resemble a non-canonical one: it must not be refused as non-canonical.");
    let seed = [0x5au8; 32];
    let signing = blindrelay::hazmat::ed25519_signing_key(&seed);
    let a = signing.to_scalar();
    let public = (B * a).compress().to_bytes();
    let k = |r: &[u8; 32], key: &[u8; 32], m: &[u8]| {
        let mut hs = sha2::Sha512::new();
        hs.update(r);
        hs.update(key);
        hs.update(m);
        Scalar::from_hash(hs)
    };
    let sig = |r: [u8; 32], s: [u8; 32]| {
        let mut out = r.to_vec();
        out.extend_from_slice(&s);
        h(out)
    };
    let case = |key: &[u8; 32], m: &[u8], r: [u8; 32], s: [u8; 32]| json!({ "publicKey": h(key), "message": h(m), "signature": sig(r, s) });
    let r_scalar = Scalar::from_bytes_mod_order([0x33; 32]);
    let r_point = B * r_scalar;
    let r_bytes = r_point.compress().to_bytes();
    let m = b"blindrelay ed25519 edge case";
    let s = r_scalar + k(&r_bytes, &public, m) * a;
    f.valid(
        "ed25519-verify",
        "a signature with a chosen nonce r: verifies",
        case(&public, m, r_bytes, s.to_bytes()),
    );
    let bad = blindrelay::Error::BadSignature;
    let weak = blindrelay::Error::InvalidPublicKey;
    // S + l (l = 2^252 + 27742317777372353535851937790883648493, little-endian).
    let l: [u8; 32] =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex")
            .try_into()
            .expect("32");
    let mut s_plus_l = s.to_bytes();
    let mut carry = 0u16;
    for (x, y) in s_plus_l.iter_mut().zip(l) {
        let v = u16::from(*x) + u16::from(y) + carry;
        *x = (v & 0xff) as u8;
        carry = v >> 8;
    }
    f.invalid(
        "ed25519-verify",
        "S + l (non-canonical S)",
        &["NonCanonicalS"],
        case(&public, m, r_bytes, s_plus_l),
        bad,
    );
    let identity = EdwardsPoint::identity().compress().to_bytes();
    let s_ka = k(&identity, &public, m) * a;
    f.invalid(
        "ed25519-verify",
        "R = identity, S = k*a: [S]B = R + [k]A holds, R has small order",
        &["SmallOrderR"],
        case(&public, m, identity, s_ka.to_bytes()),
        bad,
    );
    let t8 = EIGHT_TORSION[1];
    let t8_bytes = t8.compress().to_bytes();
    let s_t8 = k(&t8_bytes, &public, m) * a;
    f.invalid(
        "ed25519-verify",
        "R of order 8, S = k*a: only the cofactored equation holds, and R has small order",
        &["SmallOrderR", "CofactoredOnly"],
        case(&public, m, t8_bytes, s_t8.to_bytes()),
        bad,
    );
    let mixed_r = (r_point + t8).compress().to_bytes();
    let s_mixed = r_scalar + k(&mixed_r, &public, m) * a;
    f.invalid(
        "ed25519-verify",
        "R = rB + T (T of order 8), S = r + k*a: only the cofactored equation holds",
        &["CofactoredOnly"],
        case(&public, m, mixed_r, s_mixed.to_bytes()),
        bad,
    );
    f.invalid(
        "ed25519-verify",
        "A = identity, R = rB, S = r: the bare equation holds for any message",
        &["SmallOrderKey"],
        case(&identity, m, r_bytes, r_scalar.to_bytes()),
        weak,
    );
    f.invalid(
        "ed25519-verify",
        "A of order 8, R = rB, S = r",
        &["SmallOrderKey"],
        case(&t8_bytes, m, r_bytes, r_scalar.to_bytes()),
        weak,
    );
    // A = aB + T: find a message whose k is not a multiple of 8, so [k]T != 0.
    let mixed_a = (B * a + t8).compress().to_bytes();
    let mut n = 0u8;
    let (mm, km) = loop {
        let mm = [m.as_slice(), &[n]].concat();
        let km = k(&r_bytes, &mixed_a, &mm);
        if km.to_bytes()[0] % 8 != 0 {
            break (mm, km);
        }
        n += 1;
    };
    let s_ma = r_scalar + km * a;
    f.invalid("ed25519-verify", "A = aB + T (mixed order), S = r + k*a with k not a multiple of 8: only the cofactored equation holds", &["CofactoredOnly"], case(&mixed_a, &mm, r_bytes, s_ma.to_bytes()), bad);
    // Encodings with y >= p: y = p + 5 decodes (reduced) to the large-order point y = 5.
    let mut y_p5 = [0xffu8; 32];
    y_p5[0] = 0xf2;
    y_p5[31] = 0x7f;
    assert!(CompressedEdwardsY(y_p5)
        .decompress()
        .is_some_and(|p| !p.is_small_order()));
    f.invalid(
        "ed25519-verify",
        "A encoded with y = p + 5 (non-canonical, large order)",
        &["NonCanonicalKey"],
        case(&y_p5, m, r_bytes, s.to_bytes()),
        weak,
    );
    let mut y_p1 = [0xffu8; 32];
    y_p1[0] = 0xee;
    y_p1[31] = 0x7f;
    f.invalid(
        "ed25519-verify",
        "A = the identity encoded with y = p + 1, R = rB, S = r",
        &["NonCanonicalKey", "SmallOrderKey"],
        case(&y_p1, m, r_bytes, r_scalar.to_bytes()),
        weak,
    );
    f.invalid(
        "ed25519-verify",
        "R encoded with y = p + 5",
        &["NonCanonicalR"],
        case(&public, m, y_p5, s.to_bytes()),
        bad,
    );
    let mut y_p5_neg = y_p5;
    y_p5_neg[31] |= 0x80;
    assert!(CompressedEdwardsY(y_p5_neg)
        .decompress()
        .is_some_and(|p| !p.is_small_order()));
    f.invalid(
        "ed25519-verify",
        "A encoded with y = p + 5 and the sign bit set (non-canonical, large order)",
        &["NonCanonicalKey"],
        case(&y_p5_neg, m, r_bytes, s.to_bytes()),
        weak,
    );
    // A canonical y close to p in its pattern (every byte 0xff but byte 20 = 0x7f and the
    // top byte 0x7f): a decodable large-order point whose discrete logarithm nobody knows,
    // so the key is usable and the signature simply fails (201), not 203.
    let near = (0xedu8..=0xff)
        .flat_map(|low| [0u8, 0x80].map(move |sign| (low, sign)))
        .map(|(low, sign)| {
            let mut e = [0xffu8; 32];
            e[0] = low;
            e[20] = 0x7f;
            e[31] = 0x7f | sign;
            e
        })
        .find(|e| {
            CompressedEdwardsY(*e)
                .decompress()
                .is_some_and(|p| !p.is_small_order())
        })
        .expect("some such y decodes");
    f.invalid(
        "ed25519-verify",
        "A canonical but close to p in its byte pattern (byte 20 = 0x7f): usable, the signature fails",
        &["EdgeKey"],
        case(&near, m, r_bytes, s.to_bytes()),
        bad,
    );
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    assert!(CompressedEdwardsY(y2).decompress().is_none());
    f.invalid(
        "ed25519-verify",
        "A with y = 2 (not on the curve)",
        &["Undecodable"],
        case(&y2, m, r_bytes, s.to_bytes()),
        weak,
    );
    f.invalid(
        "ed25519-verify",
        "R with y = 2 (not on the curve)",
        &["Undecodable"],
        case(&public, m, y2, s.to_bytes()),
        bad,
    );
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "x25519" => {
            let r = dh::x25519(&arr(case, "scalar")?, &arr(case, "u")?);
            if is_valid(case) {
                expect_eq(case, "output", *r.map_err(|e| e.to_string())?)
            } else {
                expect_error(case, r)
            }
        }
        "ed25519" => {
            let sk = arr::<32>(case, "secretKey")?;
            let key = ed25519_from_secret(&sk);
            expect_eq(case, "publicKey", key.0)?;
            let msg = bytes(case, "message")?;
            expect_eq(case, "signature", key.1(&msg))?;
            sig::verify(&arr(case, "publicKey")?, &msg, &arr(case, "signature")?)
                .map_err(|e| e.to_string())
        }
        "chacha20poly1305" | "xchacha20poly1305" => {
            let key = arr::<32>(case, "key")?;
            let aad = bytes(case, "aad")?;
            let pt = bytes(case, "plaintext")?;
            let mut ct = bytes(case, "ciphertext")?;
            ct.extend_from_slice(&bytes(case, "tag")?);
            let x = kind(case)? == "xchacha20poly1305";
            let opened = if x {
                aead::xopen(&key, &arr(case, "nonce")?, &aad, &ct)
            } else {
                aead::open(&key, &arr(case, "nonce")?, &aad, &ct)
            };
            if !is_valid(case) {
                return expect_error(case, opened);
            }
            let sealed = if x {
                aead::xseal(&key, &arr(case, "nonce")?, &aad, &pt)
            } else {
                aead::seal(&key, &arr(case, "nonce")?, &aad, &pt)
            };
            if sealed != ct {
                return Err("sealed ciphertext || tag differs from the vector".into());
            }
            let opened = opened.map_err(|e| e.to_string())?;
            if opened != pt {
                return Err("opened plaintext differs".into());
            }
            Ok(())
        }
        "hkdf-sha256" => {
            let okm: zeroize::Zeroizing<[u8; 42]> = kdf::hkdf(
                &bytes(case, "salt")?,
                &bytes(case, "ikm")?,
                &bytes(case, "info")?,
            );
            expect_eq(case, "okm", *okm)
        }
        "hmac-sha256" => expect_eq(
            case,
            "mac",
            *kdf::hmac_sha256(&bytes(case, "key")?, &bytes(case, "data")?),
        ),
        "sha256" => expect_eq(
            case,
            "digest",
            sha2::Sha256::digest(bytes(case, "message")?),
        ),
        "sha512" => expect_eq(
            case,
            "digest",
            sha2::Sha512::digest(bytes(case, "message")?),
        ),
        "ml-kem-768" => {
            let seed = arr::<64>(case, "seed")?;
            let ek = kem::encapsulation_key(&seed);
            expect_eq(case, "encapsulationKey", ek)?;
            let (ct, ss) = kem::encapsulate(&ek, &arr(case, "m")?).map_err(|e| e.to_string())?;
            expect_eq(case, "ciphertext", ct)?;
            expect_eq(case, "sharedSecret", *ss)?;
            expect_eq(case, "sharedSecret", *kem::decapsulate(&seed, &ct))
        }
        "ml-kem-768-ek" if is_valid(case) => {
            let (ct, ss) = kem::encapsulate(&arr(case, "encapsulationKey")?, &arr(case, "m")?)
                .map_err(|e| e.to_string())?;
            expect_eq(case, "ciphertext", ct)?;
            expect_eq(case, "sharedSecret", *ss)
        }
        "ml-kem-768-ek" => expect_error(case, kem::validate(&arr(case, "encapsulationKey")?)),
        "ed25519-verify" => {
            let r = sig::verify(
                &arr(case, "publicKey")?,
                &bytes(case, "message")?,
                &arr(case, "signature")?,
            );
            if is_valid(case) {
                r.map_err(|e| e.to_string())
            } else {
                expect_error(case, r)
            }
        }
        other => Err(format!("unknown kind {other}")),
    }
}

/// The Ed25519 public key and a signing closure for a raw RFC 8032 secret key.
fn ed25519_from_secret(sk: &[u8; 32]) -> ([u8; 32], impl Fn(&[u8]) -> [u8; 64] + '_) {
    let signing = blindrelay::hazmat::ed25519_signing_key(sk);
    let public = signing.verifying_key().to_bytes();
    (public, move |m: &[u8]| {
        sig::sign(&blindrelay::hazmat::ed25519_signing_key(sk), m)
    })
}
