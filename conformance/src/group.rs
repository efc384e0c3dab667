//! `group.json`: blind groups (spec §15).
//!
//! - `epoch-keys`: an exporter secret `E` and its token, capability and mailbox, computed
//!   here with `hkdf` and `sha2` from §15.3 and checked against blindrelay.
//! - `group-envelope`: a blind message sealed to an epoch: the envelope is rebuilt here from
//!   §15.4 (`chacha20poly1305`'s XChaCha20-Poly1305, §8.4 padding written out) and must
//!   open in blindrelay to the blind message; negative cases are opened by a member of the
//!   named epoch and name their error.
//! - `group-envelope-parse`, `commit-request`: the relay's strict parses and the token check.
//! - `blind-message`: an MLS PrivateMessage written out byte by byte from RFC 9420 §6.3 and
//!   its blind form (§15.5), both ways; malformed blind messages.
//! - `passive-client`: the MLS interop `passive-client-*` shape: one member's seeds (its
//!   identity seed and the seed of its MLS randomness, from which its key package and every
//!   private key follow), the invite that adds it, then every later envelope of the group in
//!   relay order, with the epoch authenticator and mailbox after each epoch.

use crate::util::*;
use blindrelay::group::{CommitRequest, EpochKeys, GroupEnvelope};
use blindrelay::{Error, IdentityKeyPair};
use blindrelay_groups::message::{blind, BlindMessage};
use blindrelay_groups::{BlindGroup, Change, Member, Received};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_800_000_000;

/// §15.3 from the spec: `(wrap, token, capability, mailbox)`.
fn epoch_spec(e: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32], [u8; 32]) {
    let hk = Hkdf::<Sha256>::from_prk(e).expect("32-byte PRK");
    let (mut wrap, mut token) = ([0u8; 32], [0u8; 32]);
    hk.expand(b"blindrelay v1 group wrap", &mut wrap)
        .expect("32 bytes");
    hk.expand(b"blindrelay v1 group commit token", &mut token)
        .expect("32 bytes");
    let cap: [u8; 32] = Sha256::new()
        .chain_update(b"blindrelay v1 group capability")
        .chain_update(token)
        .finalize()
        .into();
    let mailbox: [u8; 32] = Sha256::new()
        .chain_update(b"blindrelay v1 mailbox id")
        .chain_update(cap)
        .finalize()
        .into();
    (wrap, token, cap, mailbox)
}

/// §8.4 Padmé with the 256-byte floor, written out.
fn padded_len_spec(n: usize) -> usize {
    let l = n + 1;
    if l <= 256 {
        return 256;
    }
    let e = usize::BITS - 1 - l.leading_zeros();
    let s = u32::BITS - 1 - e.leading_zeros() + 1;
    let m = (1usize << (e - s)) - 1;
    (l + m) & !m
}

/// §15.4 from the spec, with an explicit padded plaintext.
fn seal_spec(e: &[u8; 32], nonce: &[u8; 24], padded: &[u8]) -> Vec<u8> {
    let (wrap, _, _, mailbox) = epoch_spec(e);
    let mut out = vec![0x01, 0x09];
    out.extend_from_slice(&mailbox);
    out.extend_from_slice(nonce);
    let aad = out.clone();
    let body = chacha20poly1305::XChaCha20Poly1305::new((&wrap).into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: padded,
                aad: &aad,
            },
        )
        .expect("seal");
    out.extend_from_slice(&u32::try_from(body.len()).expect("u32").to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn pad_spec(inner: &[u8]) -> Vec<u8> {
    let mut p = inner.to_vec();
    p.push(0x80);
    p.resize(padded_len_spec(inner.len()), 0);
    p
}

/// RFC 9420 §6.3 PrivateMessage, written out (1-byte varints: every field here is short,
/// except the ciphertext which takes the 2-byte form).
fn private_message_spec(gid: &[u8], epoch: u64, ct: u8, esd: &[u8], c: &[u8]) -> Vec<u8> {
    let mut m = vec![0, 1, 0, 2];
    m.push(u8::try_from(gid.len()).expect("short"));
    m.extend_from_slice(gid);
    m.extend_from_slice(&epoch.to_be_bytes());
    m.push(ct);
    m.push(0);
    m.push(u8::try_from(esd.len()).expect("short"));
    m.extend_from_slice(esd);
    let len = u16::try_from(c.len()).expect("short") | 0x4000;
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(c);
    m
}

/// The passive client's member and identity, from its two seeds.
fn passive_member(identity_seed: &[u8; 32], rng_seed: &[u8; 32]) -> Member {
    let identity = IdentityKeyPair::from_seed(identity_seed);
    Member::new(&identity, &mut ChaCha20Rng::from_seed(*rng_seed))
}

fn received_json(r: &Received) -> Value {
    match r {
        Received::Message { sender, plaintext } => json!({
            "type": "message", "sender": h(sender.to_array()), "plaintext": h(plaintext),
        }),
        Received::Commit { committer, epoch } => json!({
            "type": "commit", "committer": h(committer.to_array()), "epoch": epoch,
        }),
        Received::OwnCommit { epoch } => json!({ "type": "own-commit", "epoch": epoch }),
        Received::Own => json!({ "type": "own" }),
        Received::Removed => json!({ "type": "removed" }),
    }
}

pub fn generate() -> (String, Value) {
    let mut f = FileBuilder::new(
        "group.json",
        "Blind groups: epoch keys from the MLS exporter, group envelopes, commit requests, blind messages (PrivateMessage without group id and epoch), and a passive-client transcript in the MLS interop shape.",
        &["§15.2", "§15.3", "§15.4", "§15.5", "§15.6", "§15.7", "§15.8"],
    );
    f.note(
        "OtherEpoch",
        "ROUTING",
        "An envelope of another epoch: its mailbox is not this epoch's.",
    );
    f.note(
        "Tampered",
        "AUTHENTICATION",
        "A flipped bit in the body: the wrap key's tag fails.",
    );
    f.note(
        "BadPadding",
        "PADDING",
        "An authenticated body whose padding is not §8.4's canonical padding.",
    );
    f.note("Malformed", "ENCODING", "Bytes the strict parser refuses.");
    f.note(
        "WrongKey",
        "AUTHENTICATION",
        "A credential whose certificate covers another MLS signature key.",
    );
    f.note(
        "WrongToken",
        "ROUTING",
        "A commit request whose token does not open the envelope's mailbox.",
    );
    let mut r = rng("group");

    // epoch-keys
    for i in 0..3 {
        let e = fill::<32>(&mut r);
        let (_, token, cap, mailbox) = epoch_spec(&e);
        f.valid(
            "epoch-keys",
            &format!("exporter secret {i}"),
            json!({ "exporterSecret": h(e), "token": h(token), "capability": h(cap), "mailbox": h(mailbox) }),
        );
    }

    // group-envelope
    let e = fill::<32>(&mut r);
    for (comment, n) in [
        ("an empty blind message", 0usize),
        ("a 100-byte blind message", 100),
        ("a 300-byte blind message (padded length 304)", 300),
    ] {
        let mut inner = vec![0u8; n];
        rand_core::RngCore::fill_bytes(&mut r, &mut inner);
        let nonce = fill::<24>(&mut r);
        f.valid(
            "group-envelope",
            comment,
            json!({ "exporterSecret": h(e), "nonce": h(nonce), "blindMessage": h(&inner),
                    "envelope": h(seal_spec(&e, &nonce, &pad_spec(&inner))) }),
        );
    }
    let nonce = fill::<24>(&mut r);
    let good = seal_spec(&e, &nonce, &pad_spec(b"blind"));
    let other = fill::<32>(&mut r);
    f.invalid("group-envelope", "sealed to another epoch", &["OtherEpoch"],
        json!({ "exporterSecret": h(e), "envelope": h(seal_spec(&other, &nonce, &pad_spec(b"blind"))) }), Error::WrongMailbox);
    let mut tampered = good.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    f.invalid(
        "group-envelope",
        "a flipped tag bit",
        &["Tampered"],
        json!({ "exporterSecret": h(e), "envelope": h(&tampered) }),
        Error::Decrypt,
    );
    let mut bad_pad = pad_spec(b"blind");
    bad_pad[5] = 0x00;
    f.invalid(
        "group-envelope",
        "padding without its 0x80 marker",
        &["BadPadding"],
        json!({ "exporterSecret": h(e), "envelope": h(seal_spec(&e, &nonce, &bad_pad)) }),
        Error::BadPadding,
    );
    let mut wide = pad_spec(b"blind");
    wide.resize(272, 0);
    f.invalid(
        "group-envelope",
        "padded one class wider than needed",
        &["BadPadding"],
        json!({ "exporterSecret": h(e), "envelope": h(seal_spec(&e, &nonce, &wide)) }),
        Error::BadPadding,
    );

    // group-envelope-parse
    let mut trailing = good.clone();
    trailing.push(0);
    let mut over = good[..58].to_vec();
    over.extend_from_slice(&69649u32.to_be_bytes());
    let mut odd = good[..58].to_vec();
    odd.extend_from_slice(&100u32.to_be_bytes());
    odd.extend_from_slice(&[0u8; 100]);
    let mut version2 = good.clone();
    version2[0] = 2;
    let mut ty = good.clone();
    ty[1] = 0x08;
    for (comment, bytes, err) in [
        ("a trailing byte", trailing, Error::TrailingBytes),
        (
            "a body length over MAX_GROUP_BODY_LEN, refused before the input length",
            over,
            Error::LengthOverMax {
                field: "group.body",
            },
        ),
        (
            "a body length that is not a padded length plus 16",
            odd,
            Error::InvalidEncoding {
                field: "group.body",
            },
        ),
        ("the pairwise type byte", ty, Error::UnknownMessageType(8)),
        (
            "cut inside the nonce",
            good[..40].to_vec(),
            Error::Truncated,
        ),
        ("version 2", version2, Error::UnknownVersion(2)),
    ] {
        f.invalid(
            "group-envelope-parse",
            comment,
            &["Malformed"],
            json!({ "envelope": h(&bytes) }),
            err,
        );
    }
    f.valid(
        "group-envelope-parse",
        "a whole envelope",
        json!({ "envelope": h(&good), "mailbox": h(epoch_spec(&e).3) }),
    );

    // commit-request
    let (_, token, _, _) = epoch_spec(&e);
    let mut req = vec![0x01, 0x31];
    req.extend_from_slice(&token);
    req.extend_from_slice(&good);
    f.valid(
        "commit-request",
        "the epoch's token and a commit envelope to its mailbox",
        json!({ "request": h(&req), "mailbox": h(epoch_spec(&e).3) }),
    );
    let (_, other_token, _, _) = epoch_spec(&other);
    let mut wrong = vec![0x01, 0x31];
    wrong.extend_from_slice(&other_token);
    wrong.extend_from_slice(&good);
    f.invalid(
        "commit-request",
        "another epoch's token",
        &["WrongToken"],
        json!({ "request": h(&wrong) }),
        Error::WrongMailbox,
    );
    let mut req_trailing = req.clone();
    req_trailing.push(0);
    f.invalid(
        "commit-request",
        "a byte after the envelope",
        &["Malformed"],
        json!({ "request": h(&req_trailing) }),
        Error::TrailingBytes,
    );
    let mut wrong_trailing = wrong.clone();
    wrong_trailing.push(0);
    f.invalid(
        "commit-request",
        "another epoch's token and a trailing byte: the parse fails first",
        &["Malformed"],
        json!({ "request": h(&wrong_trailing) }),
        Error::TrailingBytes,
    );
    let mut as_deposit = req.clone();
    as_deposit[1] = 0x09;
    f.invalid(
        "commit-request",
        "the group envelope's type byte instead of 0x31",
        &["Malformed"],
        json!({ "request": h(&as_deposit) }),
        Error::UnknownMessageType(0x09),
    );

    // group-credential (§15.2)
    let seed = fill::<32>(&mut r);
    let identity = IdentityKeyPair::from_seed(&seed);
    let key = fill::<32>(&mut r);
    let credential = blindrelay::group::certify_group_key(&identity, &key).to_bytes();
    f.valid(
        "group-credential",
        "an identity certifies an MLS signature key",
        json!({ "identitySeed": h(seed), "mlsSignatureKey": h(key), "credential": h(credential), "identity": h(identity.public().to_array()) }),
    );
    let other_key = fill::<32>(&mut r);
    f.invalid(
        "group-credential",
        "the credential of another MLS key",
        &["WrongKey"],
        json!({ "mlsSignatureKey": h(other_key), "credential": h(credential) }),
        Error::BadSignature,
    );
    f.invalid(
        "group-credential",
        "127 bytes",
        &["Malformed"],
        json!({ "mlsSignatureKey": h(key), "credential": h(&credential[..127]) }),
        Error::InvalidEncoding {
            field: "group.credential",
        },
    );

    // invite-parse (§15.8)
    let welcome = fill::<40>(&mut r);
    let tree = fill::<90>(&mut r);
    let mut invite = vec![0x01, 0x0A];
    invite.extend_from_slice(&40u32.to_be_bytes());
    invite.extend_from_slice(&welcome);
    invite.extend_from_slice(&90u32.to_be_bytes());
    invite.extend_from_slice(&tree);
    f.valid(
        "invite-parse",
        "a welcome and a tree",
        json!({ "invite": h(&invite), "welcome": h(welcome), "tree": h(tree) }),
    );
    let mut inv_trailing = invite.clone();
    inv_trailing.push(0);
    let mut inv_over = vec![0x01, 0x0A];
    inv_over.extend_from_slice(&((8u32 << 20) + 1).to_be_bytes());
    for (comment, bytes, err) in [
        ("a trailing byte", inv_trailing, Error::TrailingBytes),
        (
            "a welcome length over MAX_INVITE_PART_LEN, refused before the input length",
            inv_over,
            Error::LengthOverMax {
                field: "invite.welcome",
            },
        ),
        (
            "cut inside the tree",
            invite[..invite.len() - 1].to_vec(),
            Error::Truncated,
        ),
    ] {
        f.invalid(
            "invite-parse",
            comment,
            &["Malformed"],
            json!({ "invite": h(&bytes) }),
            err,
        );
    }

    // blind-message
    let gid = fill::<32>(&mut r);
    let esd = fill::<28>(&mut r);
    let mut ct = vec![0u8; 181];
    rand_core::RngCore::fill_bytes(&mut r, &mut ct);
    for (comment, content_type) in [("an application message", 1u8), ("a commit", 3u8)] {
        let mls = private_message_spec(&gid, 7, content_type, &esd, &ct);
        let mut blinded = vec![content_type, 28];
        blinded.extend_from_slice(&esd);
        blinded.extend_from_slice(&ct);
        f.valid("blind-message", comment, json!({ "groupId": h(gid), "epoch": 7, "privateMessage": h(&mls), "blindMessage": h(&blinded) }));
    }
    for (comment, bytes, err) in [
        (
            "a proposal (content type 2)",
            vec![2u8, 0, 1],
            Error::InvalidEncoding {
                field: "group.content_type",
            },
        ),
        (
            "sender data longer than the input",
            vec![1u8, 5, 1, 2],
            Error::Truncated,
        ),
        ("no ciphertext", vec![1u8, 0], Error::Truncated),
        ("empty", vec![], Error::Truncated),
    ] {
        f.invalid(
            "blind-message",
            comment,
            &["Malformed"],
            json!({ "blindMessage": h(&bytes) }),
            err,
        );
    }

    // passive-client
    f.valid(
        "passive-client",
        "a member joins epoch 1 and follows messages, updates, an add and a removal",
        passive_client(&mut r),
    );
    f.build()
}

/// Records the passive-client transcript (see the module doc).
fn passive_client(r: &mut ChaCha20Rng) -> Value {
    let identity_seed = fill::<32>(r);
    let rng_seed = fill::<32>(r);
    let passive = passive_member(&identity_seed, &rng_seed);
    let key_package = passive.key_package(NOW).expect("key package");
    let ids: Vec<IdentityKeyPair> = (0..3).map(|_| IdentityKeyPair::generate(r)).collect();
    let members: Vec<Member> = ids.iter().map(|i| Member::new(i, r)).collect();
    let mut a = members[0].create_group(NOW).expect("create");
    let out = a
        .commit(
            &Change {
                add: vec![
                    key_package.clone(),
                    members[1].key_package(NOW).expect("kp"),
                ],
                remove: vec![],
            },
            NOW,
        )
        .expect("commit");
    a.commit_accepted().expect("accepted");
    let invite = out.invite.expect("invite");
    let mut me = passive.join(&invite, NOW).expect("join");
    let mut b = members[1].join(&invite, NOW).expect("join");
    let mut epochs = Vec::new();
    let mut envelopes: Vec<Vec<u8>> = Vec::new();
    let mut step =
        |me: &mut BlindGroup, envs: Vec<Vec<u8>>, others: &mut [&mut BlindGroup]| -> Value {
            let mut received = Vec::new();
            for env in &envs {
                received.push(received_json(
                    &me.receive(env, NOW).expect("passive receive"),
                ));
                for o in others.iter_mut() {
                    let _ = o.receive(env, NOW).expect("member receive");
                }
            }
            envelopes.extend(envs.iter().cloned());
            json!({
                "envelopes": envs.iter().map(h).collect::<Vec<_>>(),
                "received": received,
                "epoch": me.epoch(),
                "epochAuthenticator": h(me.epoch_authenticator().expect("authenticator")),
                "mailbox": h(me.mailbox()),
            })
        };
    let initial = json!({ "epoch": me.epoch(), "epochAuthenticator": h(me.epoch_authenticator().expect("auth")), "mailbox": h(me.mailbox()) });
    // Epoch 1: two messages, then Bob's update.
    let m1 = a.send(b"welcome, both of you").expect("send");
    let m2 = b.send(b"thanks").expect("send");
    let upd = b.commit(&Change::default(), NOW).expect("update");
    let upd_env = CommitRequest::parse(&upd.request)
        .expect("request")
        .envelope()
        .to_bytes();
    epochs.push(step(&mut me, vec![m1, m2, upd_env.clone()], &mut [&mut a]));
    b.receive(&upd_env, NOW).expect("own");
    // Epoch 2: Alice adds Carol.
    let add = a
        .commit(
            &Change {
                add: vec![members[2].key_package(NOW).expect("kp")],
                remove: vec![],
            },
            NOW,
        )
        .expect("add");
    let add_env = CommitRequest::parse(&add.request)
        .expect("request")
        .envelope()
        .to_bytes();
    epochs.push(step(&mut me, vec![add_env.clone()], &mut [&mut b]));
    a.receive(&add_env, NOW).expect("own");
    let mut c = members[2]
        .join(&add.invite.expect("invite"), NOW)
        .expect("join");
    // Epoch 3: Carol talks, Alice removes Bob.
    let m3 = c.send(&[0x42; 700]).expect("send");
    let rm = a
        .commit(
            &Change {
                add: vec![],
                remove: vec![*ids[1].public()],
            },
            NOW,
        )
        .expect("remove");
    let rm_env = CommitRequest::parse(&rm.request)
        .expect("request")
        .envelope()
        .to_bytes();
    epochs.push(step(&mut me, vec![m3, rm_env.clone()], &mut [&mut c]));
    a.receive(&rm_env, NOW).expect("own");
    // Epoch 4: the passive client's view continues without Bob.
    let m4 = c.send(b"bob is gone").expect("send");
    epochs.push(step(&mut me, vec![m4], &mut [&mut a]));
    json!({
        "now": NOW,
        "identitySeed": h(identity_seed),
        "rngSeed": h(rng_seed),
        "keyPackage": h(&key_package),
        "invite": h(&invite),
        "initial": initial,
        "epochs": epochs,
    })
}

pub fn verify(case: &Value) -> Result<(), String> {
    match kind(case)?.as_str() {
        "epoch-keys" => {
            let e = arr::<32>(case, "exporterSecret")?;
            let (_, token, cap, mailbox) = epoch_spec(&e);
            let k = EpochKeys::from_exporter_secret(&e);
            expect_eq(case, "token", token)?;
            expect_eq(case, "token", k.token().to_bytes())?;
            expect_eq(case, "capability", cap)?;
            expect_eq(case, "capability", k.capability().to_bytes())?;
            expect_eq(case, "mailbox", mailbox)?;
            expect_eq(case, "mailbox", k.mailbox())
        }
        "group-envelope" => {
            let k = EpochKeys::from_exporter_secret(&arr(case, "exporterSecret")?);
            let envelope = bytes(case, "envelope")?;
            let opened = GroupEnvelope::parse(&envelope).and_then(|env| k.open(&env));
            if is_valid(case) {
                let e = arr::<32>(case, "exporterSecret")?;
                let inner = bytes(case, "blindMessage")?;
                expect_eq(
                    case,
                    "envelope",
                    seal_spec(&e, &arr(case, "nonce")?, &pad_spec(&inner)),
                )?;
                let opened = opened.map_err(|e| e.to_string())?;
                expect_eq(case, "blindMessage", &opened[..])
            } else {
                expect_error(case, opened)
            }
        }
        "group-envelope-parse" => {
            let parsed = GroupEnvelope::parse(&bytes(case, "envelope")?);
            if is_valid(case) {
                let env = parsed.map_err(|e| e.to_string())?;
                expect_eq(case, "envelope", env.to_bytes())?;
                expect_eq(case, "mailbox", env.mailbox())
            } else {
                expect_error(case, parsed)
            }
        }
        "commit-request" => {
            let checked =
                CommitRequest::parse(&bytes(case, "request")?).and_then(|r| r.check().map(|()| r));
            if is_valid(case) {
                let req = checked.map_err(|e| e.to_string())?;
                expect_eq(case, "mailbox", req.envelope().mailbox())?;
                expect_eq(case, "mailbox", req.token().mailbox())
            } else {
                expect_error(case, checked)
            }
        }
        "blind-message" => {
            let b = bytes(case, "blindMessage")?;
            if is_valid(case) {
                let gid = bytes(case, "groupId")?;
                let epoch = uint(case, "epoch")?;
                let mls = bytes(case, "privateMessage")?;
                let parsed = BlindMessage::parse(&b).map_err(|e| e.to_string())?;
                expect_eq(
                    case,
                    "privateMessage",
                    parsed.to_mls(&gid, epoch).map_err(|e| e.to_string())?,
                )?;
                expect_eq(
                    case,
                    "blindMessage",
                    blind(&mls, &gid, epoch).map_err(|e| e.to_string())?,
                )
            } else {
                expect_error(case, BlindMessage::parse(&b))
            }
        }
        "passive-client" => verify_passive(case),
        "group-credential" => {
            let checked = blindrelay::group::verify_group_key(
                &bytes(case, "credential")?,
                &bytes(case, "mlsSignatureKey")?,
            );
            if is_valid(case) {
                let identity = IdentityKeyPair::from_seed(&arr(case, "identitySeed")?);
                let key = arr::<32>(case, "mlsSignatureKey")?;
                expect_eq(
                    case,
                    "credential",
                    blindrelay::group::certify_group_key(&identity, &key).to_bytes(),
                )?;
                expect_eq(
                    case,
                    "identity",
                    checked.map_err(|e| e.to_string())?.to_array(),
                )
            } else {
                expect_error(case, checked)
            }
        }
        "invite-parse" => {
            let parsed = blindrelay_groups::message::Invite::parse(&bytes(case, "invite")?);
            if is_valid(case) {
                let inv = parsed.map_err(|e| e.to_string())?;
                expect_eq(case, "welcome", &inv.welcome)?;
                expect_eq(case, "tree", &inv.tree)
            } else {
                expect_error(case, parsed)
            }
        }
        other => Err(format!("unknown kind {other}")),
    }
}

/// The adapter's `group.passive_client`: runs the passive member of a `passive-client`
/// case (seeds, invite, every epoch's envelopes) and reports what it derived, in the
/// case's own shape: `keyPackage`, `initial`, `epochs` (with the envelopes echoed).
///
/// # Errors
/// A message describing the first step that failed.
pub fn passive_client_run(r: &Value) -> Result<Value, String> {
    let now = uint(r, "now")?;
    let member = passive_member(&arr(r, "identitySeed")?, &arr(r, "rngSeed")?);
    let key_package = member.key_package(now).map_err(|e| e.to_string())?;
    let mut g = member
        .join(&bytes(r, "invite")?, now)
        .map_err(|e| format!("join: {e}"))?;
    let view = |g: &BlindGroup| -> Result<Value, String> {
        Ok(json!({
            "epoch": g.epoch(),
            "epochAuthenticator": h(g.epoch_authenticator().map_err(|e| e.to_string())?),
            "mailbox": h(g.mailbox()),
        }))
    };
    let initial = view(&g)?;
    let mut epochs = Vec::new();
    for e in r
        .get("epochs")
        .and_then(Value::as_array)
        .ok_or("no epochs")?
    {
        let envs = e
            .get("envelopes")
            .and_then(Value::as_array)
            .ok_or("no envelopes")?;
        let mut received = Vec::new();
        for env in envs {
            let env = hex::decode(env.as_str().ok_or("hex")?).map_err(|e| e.to_string())?;
            received.push(received_json(
                &g.receive(&env, now).map_err(|e| e.to_string())?,
            ));
        }
        let mut v = view(&g)?;
        v["envelopes"] = Value::Array(envs.clone());
        v["received"] = Value::Array(received);
        epochs.push(v);
    }
    Ok(json!({ "keyPackage": h(&key_package), "initial": initial, "epochs": epochs }))
}

fn verify_passive(case: &Value) -> Result<(), String> {
    let now = uint(case, "now")?;
    let member = passive_member(&arr(case, "identitySeed")?, &arr(case, "rngSeed")?);
    expect_eq(
        case,
        "keyPackage",
        member.key_package(now).map_err(|e| e.to_string())?,
    )?;
    let mut g = member
        .join(&bytes(case, "invite")?, now)
        .map_err(|e| format!("join: {e}"))?;
    let check_epoch = |g: &BlindGroup, e: &Value| -> Result<(), String> {
        if uint(e, "epoch")? != g.epoch() {
            return Err(format!(
                "epoch {} instead of {}",
                g.epoch(),
                uint(e, "epoch")?
            ));
        }
        expect_eq(
            e,
            "epochAuthenticator",
            g.epoch_authenticator().map_err(|e| e.to_string())?,
        )?;
        expect_eq(e, "mailbox", g.mailbox())
    };
    check_epoch(&g, case.get("initial").ok_or("no initial")?)?;
    let epochs = case
        .get("epochs")
        .and_then(Value::as_array)
        .ok_or("no epochs")?;
    for (i, e) in epochs.iter().enumerate() {
        let envs = e
            .get("envelopes")
            .and_then(Value::as_array)
            .ok_or("no envelopes")?;
        let want = e
            .get("received")
            .and_then(Value::as_array)
            .ok_or("no received")?;
        for (j, env) in envs.iter().enumerate() {
            let env = hex::decode(env.as_str().ok_or("hex")?).map_err(|e| e.to_string())?;
            let got = g
                .receive(&env, now)
                .map_err(|err| format!("epoch step {i}, envelope {j}: {err}"))?;
            if Some(&received_json(&got)) != want.get(j) {
                return Err(format!(
                    "epoch step {i}, envelope {j}: received {}",
                    received_json(&got)
                ));
            }
        }
        check_epoch(&g, e).map_err(|err| format!("epoch step {i}: {err}"))?;
    }
    Ok(())
}
