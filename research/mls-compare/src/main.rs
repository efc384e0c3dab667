//! mls-rs 0.57 vs OpenMLS 0.9.2 micro-benchmark (cipher suite 1, pure-Rust providers).
//!
//! Usage: mls-compare [n ...]   (default: 10 100 1000)
//! Timing: std::time::Instant, median of REPS repetitions.

use std::time::{Duration, Instant};

const REPS: usize = 5;
const APP_LEN: usize = 100;
/// Same 16-byte group id for both crates so wire sizes are comparable
/// (their random defaults differ: mls-rs 32 B, OpenMLS 16 B).
const GROUP_ID: &[u8; 16] = b"mls-compare-gid0";

#[derive(Default, Clone, Debug)]
pub struct Row {
    pub lib: &'static str,
    pub n: usize,
    pub setup: Duration,        // create n-member group in one commit + populate copath (whole setup)
    pub commit_create: Duration, // creator self-update commit (PrivateMessage)
    pub commit_size: usize,
    pub commit_process: Duration, // observer (leaf 1) processes it (incl. deserialize + merge)
    pub app_overhead: usize,
    pub app_encrypt: Duration,
    pub app_decrypt: Duration,
    pub join: Duration, // new member processes Welcome + out-of-band tree
    pub welcome_size: usize,
    pub tree_size: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn median_usize(mut v: Vec<usize>) -> usize {
    v.sort();
    v[v.len() / 2]
}

/// Leaves that do an Update so that the creator's (leaf 0) copath is populated.
fn updaters(n: usize) -> Vec<usize> {
    let mut v = vec![];
    let mut k = 2;
    while k < n {
        v.push(k);
        k *= 2;
    }
    v
}

mod mlsrs {
    use super::*;
    use mls_rs::{
        client_builder::{MlsConfig, PaddingMode},
        group::{ExportedTree, ReceivedMessage},
        identity::{
            basic::{BasicCredential, BasicIdentityProvider},
            SigningIdentity,
        },
        mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions},
        CipherSuite, CipherSuiteProvider, Client, CryptoProvider, ExtensionList, MlsMessage,
        WireFormat,
    };
    use mls_rs_crypto_rustcrypto::RustCryptoProvider;

    const CS: CipherSuite = CipherSuite::CURVE25519_AES128;

    fn make_client(name: &str) -> Client<impl MlsConfig> {
        let cp = RustCryptoProvider::default();
        let cs = cp.cipher_suite_provider(CS).unwrap();
        let (sk, pk) = cs.signature_key_generate().unwrap();
        let cred = BasicCredential::new(name.as_bytes().to_vec());
        let sid = SigningIdentity::new(cred.into_credential(), pk);
        Client::builder()
            .identity_provider(BasicIdentityProvider)
            .crypto_provider(cp)
            .mls_rules(
                DefaultMlsRules::new()
                    .with_commit_options(
                        CommitOptions::new()
                            .with_path_required(true)
                            .with_ratchet_tree_extension(false),
                    )
                    .with_encryption_options(EncryptionOptions::new(true, PaddingMode::None)),
            )
            .signing_identity(sid, sk, CS)
            .build()
    }

    pub fn run(n: usize) -> Row {
        let mut row = Row { lib: "mls-rs 0.57 + rustcrypto 0.23", n, ..Default::default() };
        let t_setup = Instant::now();
        let creator = make_client("member-0");
        let mut g0 = creator
            .create_group_with_id(GROUP_ID.to_vec(), ExtensionList::default(), Default::default(), None)
            .unwrap();
        let clients: Vec<_> = (1..n).map(|i| make_client(&format!("member-{i}"))).collect();
        let mut cb = g0.commit_builder();
        for c in &clients {
            let kp = c
                .generate_key_package_message(Default::default(), Default::default(), None)
                .unwrap();
            cb = cb.add_member(kp).unwrap();
        }
        let out = cb.build().unwrap();
        g0.apply_pending_commit().unwrap();
        let tree_bytes = out.ratchet_tree.as_ref().unwrap().to_bytes().unwrap();
        let welcome = &out.welcome_messages[0];

        // Active members: observer (leaf 1) + updaters.
        let mut active_idx = vec![1usize];
        active_idx.extend(updaters(n));
        let mut active = Vec::new();
        for &i in &active_idx {
            let tree = ExportedTree::from_bytes(&tree_bytes).unwrap();
            let (g, _) = clients[i - 1].join_group(Some(tree), welcome, None).unwrap();
            assert_eq!(g.current_member_index() as usize, i);
            active.push(g);
        }
        // Updaters commit (empty commit => path); creator and all active members follow.
        for a in 1..active.len() {
            let out = active[a].commit(vec![]).unwrap();
            assert!(out.contains_update_path);
            active[a].apply_pending_commit().unwrap();
            let bytes = out.commit_message.to_bytes().unwrap();
            let m = MlsMessage::from_bytes(&bytes).unwrap();
            g0.process_incoming_message(m.clone()).unwrap();
            for b in 0..active.len() {
                if b != a {
                    active[b].process_incoming_message(m.clone()).unwrap();
                }
            }
        }
        row.setup = t_setup.elapsed();
        let observer = &mut active[0];

        // 1. creator self-update commit
        let (mut tc, mut sz, mut tp) = (vec![], vec![], vec![]);
        for _ in 0..REPS {
            let t = Instant::now();
            let out = g0.commit(vec![]).unwrap();
            tc.push(t.elapsed());
            assert!(out.contains_update_path);
            assert_eq!(out.commit_message.wire_format(), WireFormat::PrivateMessage);
            let bytes = out.commit_message.to_bytes().unwrap();
            sz.push(bytes.len());
            g0.apply_pending_commit().unwrap();
            let t = Instant::now();
            let m = MlsMessage::from_bytes(&bytes).unwrap();
            match observer.process_incoming_message(m).unwrap() {
                ReceivedMessage::Commit(_) => {}
                other => panic!("unexpected {other:?}"),
            }
            tp.push(t.elapsed());
        }
        row.commit_create = median(tc);
        row.commit_size = median_usize(sz);
        row.commit_process = median(tp);

        // 2. application message
        let (mut te, mut td, mut ov) = (vec![], vec![], vec![]);
        let payload = [0x42u8; APP_LEN];
        for _ in 0..REPS {
            let t = Instant::now();
            let m = g0.encrypt_application_message(&payload, vec![]).unwrap();
            let bytes = m.to_bytes().unwrap();
            te.push(t.elapsed());
            ov.push(bytes.len() - APP_LEN);
            let t = Instant::now();
            let m = MlsMessage::from_bytes(&bytes).unwrap();
            match observer.process_incoming_message(m).unwrap() {
                ReceivedMessage::ApplicationMessage(a) => assert_eq!(a.data(), &payload[..]),
                other => panic!("unexpected {other:?}"),
            }
            td.push(t.elapsed());
        }
        row.app_encrypt = median(te);
        row.app_decrypt = median(td);
        row.app_overhead = median_usize(ov);

        // 3. join: creator adds a fresh member, joiner processes Welcome + tree; creator discards
        //    the pending commit so the group stays at n members for every repetition.
        let (mut tj, mut ws, mut ts) = (vec![], vec![], vec![]);
        for r in 0..REPS {
            let joiner = make_client(&format!("joiner-{r}"));
            let kp = joiner
                .generate_key_package_message(Default::default(), Default::default(), None)
                .unwrap();
            let out = g0.commit_builder().add_member(kp).unwrap().build().unwrap();
            let wbytes = out.welcome_messages[0].to_bytes().unwrap();
            let tbytes = out.ratchet_tree.as_ref().unwrap().to_bytes().unwrap();
            g0.clear_pending_commit();
            ws.push(wbytes.len());
            ts.push(tbytes.len());
            let t = Instant::now();
            let w = MlsMessage::from_bytes(&wbytes).unwrap();
            let tree = ExportedTree::from_bytes(&tbytes).unwrap();
            let (g, _) = joiner.join_group(Some(tree), &w, None).unwrap();
            tj.push(t.elapsed());
            assert_eq!(g.current_member_index() as usize, n);
        }
        row.join = median(tj);
        row.welcome_size = median_usize(ws);
        row.tree_size = median_usize(ts);

        // sanity: exporter
        let a = g0.export_secret(b"blind-delivery", b"ctx", 32).unwrap();
        let b = observer.export_secret(b"blind-delivery", b"ctx", 32).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        row
    }
}

mod omls {
    use super::*;
    use openmls::prelude::{tls_codec::*, *};
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_rust_crypto::OpenMlsRustCrypto;

    pub const CS1: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

    struct M {
        p: OpenMlsRustCrypto,
        s: SignatureKeyPair,
        cwk: CredentialWithKey,
    }

    fn member(cs: Ciphersuite, name: &str) -> M {
        let p = OpenMlsRustCrypto::default();
        let s = SignatureKeyPair::new(cs.signature_algorithm()).unwrap();
        let cred = BasicCredential::new(name.as_bytes().to_vec());
        let cwk = CredentialWithKey {
            credential: cred.into(),
            signature_key: s.to_public_vec().into(),
        };
        M { p, s, cwk }
    }

    fn kp(cs: Ciphersuite, m: &M) -> KeyPackage {
        KeyPackage::builder()
            .build(cs, &m.p, &m.s, m.cwk.clone())
            .unwrap()
            .key_package()
            .clone()
    }

    fn join_cfg() -> MlsGroupJoinConfig {
        MlsGroupJoinConfig::builder()
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .padding_size(0)
            .use_ratchet_tree_extension(false)
            .build()
    }

    fn join(m: &M, wbytes: &[u8], tbytes: &[u8]) -> MlsGroup {
        let msg = MlsMessageIn::tls_deserialize_exact(wbytes).unwrap();
        let welcome = match msg.extract() {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => panic!("not a welcome"),
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(tbytes).unwrap();
        StagedWelcome::new_from_welcome(&m.p, &join_cfg(), welcome, Some(tree))
            .unwrap()
            .into_group(&m.p)
            .unwrap()
    }

    fn process(g: &mut MlsGroup, m: &M, bytes: &[u8]) -> Option<Vec<u8>> {
        let msg = MlsMessageIn::tls_deserialize_exact(bytes).unwrap();
        let pm = g
            .process_message(&m.p, msg.try_into_protocol_message().unwrap())
            .unwrap();
        match pm.into_content() {
            ProcessedMessageContent::StagedCommitMessage(sc) => {
                g.merge_staged_commit(&m.p, *sc).unwrap();
                None
            }
            ProcessedMessageContent::ApplicationMessage(a) => Some(a.into_bytes()),
            _ => panic!("unexpected content"),
        }
    }

    pub fn run(n: usize) -> Row {
        run_cs(n, CS1, "openmls 0.9.2 + rust_crypto 0.6")
    }

    #[cfg(feature = "pq")]
    pub fn run_pq(n: usize) -> Row {
        run_cs(
            n,
            Ciphersuite::MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519,
            "openmls + rust_crypto, PQ 0x004F MLKEM768X25519",
        )
    }

    pub fn run_cs(n: usize, cs: Ciphersuite, lib: &'static str) -> Row {
        let mut row = Row { lib, n, ..Default::default() };
        let t_setup = Instant::now();
        let c = member(cs, "member-0");
        let cfg = MlsGroupCreateConfig::builder()
            .ciphersuite(cs)
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .padding_size(0)
            .use_ratchet_tree_extension(false)
            .build();
        let mut g0 = MlsGroup::new_with_group_id(&c.p, &c.s, &cfg, GroupId::from_slice(GROUP_ID), c.cwk.clone()).unwrap();
        let members: Vec<M> = (1..n).map(|i| member(cs, &format!("member-{i}"))).collect();
        let kps: Vec<KeyPackage> = members.iter().map(|m| kp(cs, m)).collect();
        let (_commit, welcome, _) = g0.add_members(&c.p, &c.s, &kps).unwrap();
        g0.merge_pending_commit(&c.p).unwrap();
        let wbytes = welcome.tls_serialize_detached().unwrap();
        let tbytes = g0.export_ratchet_tree().tls_serialize_detached().unwrap();

        let mut active_idx = vec![1usize];
        active_idx.extend(updaters(n));
        let mut active: Vec<(usize, MlsGroup)> = Vec::new();
        for &i in &active_idx {
            let g = join(&members[i - 1], &wbytes, &tbytes);
            assert_eq!(g.own_leaf_index().u32() as usize, i);
            active.push((i, g));
        }
        for a in 1..active.len() {
            let mi = active[a].0 - 1;
            let bundle = active[a]
                .1
                .self_update(&members[mi].p, &members[mi].s, LeafNodeParameters::default())
                .unwrap();
            let bytes = bundle.commit().tls_serialize_detached().unwrap();
            active[a].1.merge_pending_commit(&members[mi].p).unwrap();
            process(&mut g0, &c, &bytes);
            for b in 0..active.len() {
                if b != a {
                    let bi = active[b].0 - 1;
                    process(&mut active[b].1, &members[bi], &bytes);
                }
            }
        }
        row.setup = t_setup.elapsed();
        let obs_m = &members[0];
        let (_, mut observer) = active.remove(0);

        // 1. creator self-update commit
        let (mut tc, mut sz, mut tp) = (vec![], vec![], vec![]);
        for _ in 0..REPS {
            let t = Instant::now();
            let bundle = g0.self_update(&c.p, &c.s, LeafNodeParameters::default()).unwrap();
            tc.push(t.elapsed());
            let bytes = bundle.commit().tls_serialize_detached().unwrap();
            assert_eq!(
                MlsMessageIn::tls_deserialize_exact(&bytes).unwrap().wire_format(),
                WireFormat::PrivateMessage
            );
            sz.push(bytes.len());
            g0.merge_pending_commit(&c.p).unwrap();
            let t = Instant::now();
            assert!(process(&mut observer, obs_m, &bytes).is_none());
            tp.push(t.elapsed());
        }
        row.commit_create = median(tc);
        row.commit_size = median_usize(sz);
        row.commit_process = median(tp);

        // 2. application message
        let (mut te, mut td, mut ov) = (vec![], vec![], vec![]);
        let payload = [0x42u8; APP_LEN];
        for _ in 0..REPS {
            let t = Instant::now();
            let m = g0.create_message(&c.p, &c.s, &payload).unwrap();
            let bytes = m.tls_serialize_detached().unwrap();
            te.push(t.elapsed());
            ov.push(bytes.len() - APP_LEN);
            let t = Instant::now();
            let got = process(&mut observer, obs_m, &bytes).unwrap();
            td.push(t.elapsed());
            assert_eq!(got, payload);
        }
        row.app_encrypt = median(te);
        row.app_decrypt = median(td);
        row.app_overhead = median_usize(ov);

        // 3. join
        let (mut tj, mut ws, mut ts) = (vec![], vec![], vec![]);
        for r in 0..REPS {
            let j = member(cs, &format!("joiner-{r}"));
            let k = kp(cs, &j);
            let (_commit, welcome, _) = g0.add_members(&c.p, &c.s, &[k]).unwrap();
            let wb = welcome.tls_serialize_detached().unwrap();
            let tree = g0
                .pending_commit()
                .unwrap()
                .export_ratchet_tree(c.p.crypto(), g0.export_ratchet_tree())
                .unwrap()
                .unwrap();
            let tb = tree.tls_serialize_detached().unwrap();
            g0.clear_pending_commit(c.p.storage()).unwrap();
            ws.push(wb.len());
            ts.push(tb.len());
            let t = Instant::now();
            let g = join(&j, &wb, &tb);
            tj.push(t.elapsed());
            assert_eq!(g.own_leaf_index().u32() as usize, n);
        }
        row.join = median(tj);
        row.welcome_size = median_usize(ws);
        row.tree_size = median_usize(ts);

        let a = g0.export_secret(c.p.crypto(), "blind-delivery", b"ctx", 32).unwrap();
        let b = observer.export_secret(obs_m.p.crypto(), "blind-delivery", b"ctx", 32).unwrap();
        assert_eq!(a, b);
        row
    }
}

/// X-Wing (0x004D) smoke test with the libcrux provider: 2-member group, one commit, one message.
#[cfg(feature = "libcrux")]
fn libcrux_xwing_check() {
    use openmls::prelude::{tls_codec::*, *};
    use openmls_basic_credential::SignatureKeyPair;
    let cs = Ciphersuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519;
    let mk = |name: &str| {
        let p = openmls_libcrux_crypto::Provider::default();
        let s = SignatureKeyPair::new(cs.signature_algorithm()).unwrap();
        let cwk = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: s.to_public_vec().into(),
        };
        (p, s, cwk)
    };
    let (pa, sa, ca) = mk("alice");
    let (pb, sb, cb) = mk("bob");
    assert!(pa.crypto().supported_ciphersuites().contains(&cs));
    let cfg = MlsGroupCreateConfig::builder()
        .ciphersuite(cs)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .build();
    let mut ga = MlsGroup::new(&pa, &sa, &cfg, ca).unwrap();
    let kpb = KeyPackage::builder().build(cs, &pb, &sb, cb).unwrap();
    let (_c, w, _) = ga.add_members(&pa, &sa, &[kpb.key_package().clone()]).unwrap();
    ga.merge_pending_commit(&pa).unwrap();
    let wb = w.tls_serialize_detached().unwrap();
    let welcome = match MlsMessageIn::tls_deserialize_exact(&wb).unwrap().extract() {
        MlsMessageBodyIn::Welcome(w) => w,
        _ => panic!(),
    };
    let mut gb = StagedWelcome::new_from_welcome(&pb, cfg.join_config(), welcome, None)
        .unwrap()
        .into_group(&pb)
        .unwrap();
    let upd = ga.self_update(&pa, &sa, LeafNodeParameters::default()).unwrap();
    let ub = upd.commit().tls_serialize_detached().unwrap();
    ga.merge_pending_commit(&pa).unwrap();
    let pm = gb
        .process_message(&pb, MlsMessageIn::tls_deserialize_exact(&ub).unwrap().try_into_protocol_message().unwrap())
        .unwrap();
    if let ProcessedMessageContent::StagedCommitMessage(sc) = pm.into_content() {
        gb.merge_staged_commit(&pb, *sc).unwrap();
    } else {
        panic!()
    }
    let m = ga.create_message(&pa, &sa, b"hello pq").unwrap().tls_serialize_detached().unwrap();
    let pm = gb
        .process_message(&pb, MlsMessageIn::tls_deserialize_exact(&m).unwrap().try_into_protocol_message().unwrap())
        .unwrap();
    match pm.into_content() {
        ProcessedMessageContent::ApplicationMessage(a) => assert_eq!(a.into_bytes(), b"hello pq"),
        _ => panic!(),
    }
    println!(
        "libcrux X-Wing 0x004D OK: 2-member group, self-update commit {} B (PrivateMessage), Welcome {} B, KeyPackage {} B",
        ub.len(),
        wb.len(),
        kpb.key_package().tls_serialize_detached().unwrap().len()
    );
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn main() {
    let ns: Vec<usize> = {
        let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
        if a.is_empty() { vec![10, 100, 1000] } else { a }
    };
    #[allow(unused_mut)]
    let mut libs: Vec<(&str, fn(usize) -> Row)> = vec![("mls-rs", mlsrs::run), ("openmls", omls::run)];
    if std::env::var("PQ_ONLY").is_ok() {
        libs.clear();
    }
    #[cfg(feature = "pq")]
    libs.push(("openmls-pq", omls::run_pq));
    #[cfg(feature = "libcrux")]
    libcrux_xwing_check();
    println!("RAYON_NUM_THREADS={:?}", std::env::var("RAYON_NUM_THREADS").ok());
    println!("| crate | n | setup total (s) | self-update commit create (ms) | commit size (B) | observer process commit (ms) | app msg overhead (B) | app encrypt (ms) | app decrypt (ms) | join: process Welcome+tree (ms) | Welcome size (B) | ratchet tree size (B) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &ns {
        for (_, f) in &libs {
            let r = f(n);
            println!(
                "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.lib,
                r.n,
                r.setup.as_secs_f64(),
                ms(r.commit_create),
                r.commit_size,
                ms(r.commit_process),
                r.app_overhead,
                ms(r.app_encrypt),
                ms(r.app_decrypt),
                ms(r.join),
                r.welcome_size,
                r.tree_size
            );
        }
    }
}
