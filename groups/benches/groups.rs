//! Blind groups against plain mls-rs, at 10, 100 and 1000 members (criterion).
//!
//! Both sides use mls-rs 0.57 with the RustCrypto suite 3
//! (`MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`), PrivateMessage only, no MLS
//! padding, a path in every commit and the ratchet tree out of band. The blind side is
//! this crate's public API (group envelope, blind message, certified credentials, seeded
//! RNG); the plain side is mls-rs used directly with `BasicCredential` and the stock
//! `RustCryptoProvider`.
//!
//! Setup (untimed), per n: the creator (leaf 0) adds n - 1 key packages in one commit; the
//! observer (leaf 1) and the members at leaves 2, 4, 8, … (powers of two below n) join
//! from the invite, and each of the latter commits an empty self-update that every active
//! member processes, so the creator's copath is populated. Timed: the creator's
//! self-update commit, the observer processing it, a new member joining a one-member add,
//! and a 100-byte application message sent and received. Sizes are printed first.
//!
//! `cargo bench -p blindrelay-groups --bench groups` runs everything; without `--bench`
//! (`cargo test --benches`) only n = 10 runs, each benchmark once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use blindrelay::envelope::padded_len;
use blindrelay::group::{CommitRequest, GroupEnvelope, GROUP_ENVELOPE_OVERHEAD};
use blindrelay::{Error, IdentityKeyPair};
use blindrelay_groups::message::Invite;
use blindrelay_groups::{BlindGroup, Change, Member, Received};
use criterion::{BatchSize, BenchmarkId, Criterion};
use mls_rs::client_builder::{
    BaseConfig, IntoConfigOutput, WithCryptoProvider, WithIdentityProvider, WithMlsRules,
};
use mls_rs::group::{ExportedTree, ReceivedMessage};
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::DefaultMlsRules;
use mls_rs::{
    CipherSuite, CipherSuiteProvider, Client, CryptoProvider, ExtensionList, Group, MlsMessage,
    WireFormat,
};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const NOW: u64 = 1_800_000_000;
const APP_LEN: usize = 100;
const PAYLOAD: [u8; APP_LEN] = [0x42; APP_LEN];
const SUITE: CipherSuite = CipherSuite::CURVE25519_CHACHA;
/// Key packages per commit in the blind setup (see `blind_setup`).
const ADD_BATCH: usize = 100;

/// Leaves that commit a self-update so that the creator's copath is populated.
fn updaters(n: usize) -> Vec<usize> {
    let mut v = Vec::new();
    let mut k = 2;
    while k < n {
        v.push(k);
        k *= 2;
    }
    v
}

// ---------------------------------------------------------------------------------------
// Blind profile (this crate)
// ---------------------------------------------------------------------------------------

struct Blind {
    n: usize,
    setup: Duration,
    creator: BlindGroup,
    observer: BlindGroup,
    /// The creator's self-update commit at the current epoch, as the group envelope the
    /// relay delivers (the creator discarded it).
    commit_envelope: Vec<u8>,
    /// The blind message inside that envelope, unpadded.
    commit_blind_len: usize,
    app_envelope_len: usize,
    app_blind_len: usize,
    invite_len: usize,
    welcome_len: usize,
    tree_len: usize,
    first_batch_envelope_len: usize,
    add_commits: usize,
    rng: ChaCha20Rng,
}

fn blind_member(rng: &mut ChaCha20Rng) -> Member {
    let identity = IdentityKeyPair::generate(rng);
    Member::new(&identity, rng)
}

fn envelope_of(request: &[u8]) -> GroupEnvelope {
    CommitRequest::parse(request).unwrap().envelope().clone()
}

fn blind_setup(n: usize) -> Blind {
    let start = Instant::now();
    let mut rng = ChaCha20Rng::seed_from_u64(u64::try_from(n).unwrap());
    let creator_member = blind_member(&mut rng);
    let mut creator = creator_member.create_group(NOW).unwrap();
    let members: Vec<Member> = (1..n).map(|_| blind_member(&mut rng)).collect();
    // Every blind commit carries a path and must fit one group envelope (at most 69 632
    // padded bytes). Adding 999 key packages at once does not fit, nor does a path
    // encrypted to ~1000 leaves of a tree with blank parent nodes. So the creator adds at
    // most ADD_BATCH members per commit (halving on MessageTooLarge), and as soon as the
    // subtree [u, 2u) of an updater u is complete, u commits a self-update that fills the
    // subtree's root, the creator's copath node. The resulting tree is the same as the plain
    // setup's: the creator's path and copath populated, no unmerged leaves.
    let ups = updaters(n);
    // (leaf, group, has updated); the observer first.
    let mut active: Vec<(usize, BlindGroup, bool)> = Vec::new();
    let mut added = 1; // leaves 0..added are members
    let mut batch = ADD_BATCH;
    let mut first_batch_envelope_len = 0;
    let mut add_commits = 0;
    while added < n {
        let end = (added + batch).min(n);
        let add = members[added - 1..end - 1]
            .iter()
            .map(|m| m.key_package(NOW).unwrap())
            .collect();
        let out = match creator.commit(
            &Change {
                add,
                remove: vec![],
            },
            NOW,
        ) {
            Err(Error::MessageTooLarge) if batch > 1 => {
                batch /= 2;
                continue;
            }
            r => r.unwrap(),
        };
        creator.commit_accepted().unwrap();
        add_commits += 1;
        let envelope = envelope_of(&out.request).to_bytes();
        if first_batch_envelope_len == 0 {
            first_batch_envelope_len = envelope.len();
        }
        for (_, group, _) in &mut active {
            group.receive(&envelope, NOW).unwrap();
        }
        let invite = out.invite.unwrap();
        for leaf in std::iter::once(1).chain(ups.iter().copied()) {
            if (added..end).contains(&leaf) {
                let group = members[leaf - 1].join(&invite, NOW).unwrap();
                active.push((leaf, group, leaf == 1));
            }
        }
        added = end;
        for a in 0..active.len() {
            let (leaf, _, updated) = &active[a];
            if *updated || (2 * leaf).min(n) > added {
                continue;
            }
            let out = active[a].1.commit(&Change::default(), NOW).unwrap();
            active[a].1.commit_accepted().unwrap();
            active[a].2 = true;
            let envelope = envelope_of(&out.request).to_bytes();
            assert!(matches!(
                creator.receive(&envelope, NOW).unwrap(),
                Received::Commit { .. }
            ));
            for (b, (_, group, _)) in active.iter_mut().enumerate() {
                if b != a {
                    group.receive(&envelope, NOW).unwrap();
                }
            }
        }
    }
    assert!(active.iter().all(|(_, _, updated)| *updated));
    let mut active: Vec<BlindGroup> = active.into_iter().map(|(_, g, _)| g).collect();
    let observer = active.swap_remove(0);
    drop(active);
    assert_eq!(creator.epoch(), observer.epoch());
    assert_eq!(creator.members().len(), n);
    let setup = start.elapsed();

    // The self-update commit the observer processes in the benchmark.
    let out = creator.commit(&Change::default(), NOW).unwrap();
    let envelope = envelope_of(&out.request);
    let commit_blind_len = creator.epoch_keys().open(&envelope).unwrap().len();
    let commit_envelope = envelope.to_bytes();
    creator.commit_refused();
    assert!(matches!(
        observer
            .snapshot()
            .unwrap()
            .receive(&commit_envelope, NOW)
            .unwrap(),
        Received::Commit { .. }
    ));

    // An application message, sizes only (the observer does not process it, so the
    // decrypt benchmark starts from the creator's next message).
    let mut probe = creator.snapshot().unwrap();
    let app = probe.send(&PAYLOAD).unwrap();
    let app_blind_len = probe
        .epoch_keys()
        .open(&GroupEnvelope::parse(&app).unwrap())
        .unwrap()
        .len();
    let mut reader = observer.snapshot().unwrap();
    assert!(matches!(
        reader.receive(&app, NOW).unwrap(),
        Received::Message { plaintext, .. } if plaintext == PAYLOAD
    ));

    // An invite for one more member.
    let joiner = blind_member(&mut rng);
    let out = creator
        .commit(
            &Change {
                add: vec![joiner.key_package(NOW).unwrap()],
                remove: vec![],
            },
            NOW,
        )
        .unwrap();
    creator.commit_refused();
    let invite = out.invite.unwrap();
    let parts = Invite::parse(&invite).unwrap();
    assert_eq!(joiner.join(&invite, NOW).unwrap().members().len(), n + 1);

    Blind {
        n,
        setup,
        creator,
        observer,
        commit_envelope,
        commit_blind_len,
        app_envelope_len: app.len(),
        app_blind_len,
        invite_len: invite.len(),
        welcome_len: parts.welcome.len(),
        tree_len: parts.tree.len(),
        first_batch_envelope_len,
        add_commits,
        rng,
    }
}

// ---------------------------------------------------------------------------------------
// Plain mls-rs
// ---------------------------------------------------------------------------------------

type PlainConfig = IntoConfigOutput<
    WithMlsRules<
        DefaultMlsRules,
        WithIdentityProvider<
            BasicIdentityProvider,
            WithCryptoProvider<RustCryptoProvider, BaseConfig>,
        >,
    >,
>;
type PlainClient = Client<PlainConfig>;
type PlainGroup = Group<PlainConfig>;

/// The Welcome and ratchet tree of a one-member add of `joiner` into `creator`'s group;
/// the commit is discarded, so the group stays as it was.
fn plain_invite(creator: &mut PlainGroup, joiner: &PlainClient) -> (Vec<u8>, Vec<u8>) {
    let out = creator
        .commit_builder()
        .add_member(plain_key_package(joiner))
        .unwrap()
        .build()
        .unwrap();
    creator.clear_pending_commit();
    let welcome = out.welcome_messages[0].to_bytes().unwrap();
    let tree = out.ratchet_tree.as_ref().unwrap().to_bytes().unwrap();
    (welcome, tree)
}

fn plain_client(name: &str) -> PlainClient {
    let crypto = RustCryptoProvider::default();
    let suite = crypto.cipher_suite_provider(SUITE).unwrap();
    let (secret, public) = suite.signature_key_generate().unwrap();
    let credential = BasicCredential::new(name.as_bytes().to_vec()).into_credential();
    Client::builder()
        .crypto_provider(crypto)
        .identity_provider(BasicIdentityProvider)
        .mls_rules(blindrelay_groups::group::profile_rules())
        .signing_identity(SigningIdentity::new(credential, public), secret, SUITE)
        .build()
}

fn plain_key_package(client: &PlainClient) -> MlsMessage {
    client
        .generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap()
}

struct Plain {
    setup: Duration,
    creator: PlainGroup,
    observer: PlainGroup,
    commit: Vec<u8>,
    app_len: usize,
    welcome_len: usize,
    tree_len: usize,
    joiners: usize,
}

fn plain_setup(n: usize) -> Plain {
    let start = Instant::now();
    let creator_client = plain_client("member-0");
    let mut creator = creator_client
        .create_group_with_id(
            vec![0x5a; 32],
            ExtensionList::new(),
            ExtensionList::new(),
            None,
        )
        .unwrap();
    let clients: Vec<PlainClient> = (1..n)
        .map(|i| plain_client(&format!("member-{i}")))
        .collect();
    let mut builder = creator.commit_builder();
    for c in &clients {
        builder = builder.add_member(plain_key_package(c)).unwrap();
    }
    let out = builder.build().unwrap();
    creator.apply_pending_commit().unwrap();
    let welcome = out.welcome_messages[0].to_bytes().unwrap();
    let tree = out.ratchet_tree.as_ref().unwrap().to_bytes().unwrap();

    let mut active: Vec<PlainGroup> = std::iter::once(1)
        .chain(updaters(n))
        .map(|leaf| {
            let (g, _) = clients[leaf - 1]
                .join_group(
                    Some(ExportedTree::from_bytes(&tree).unwrap()),
                    &MlsMessage::from_bytes(&welcome).unwrap(),
                    None,
                )
                .unwrap();
            assert_eq!(g.current_member_index() as usize, leaf);
            g
        })
        .collect();
    for a in 1..active.len() {
        let out = active[a].commit(vec![]).unwrap();
        active[a].apply_pending_commit().unwrap();
        let bytes = out.commit_message.to_bytes().unwrap();
        creator
            .process_incoming_message(MlsMessage::from_bytes(&bytes).unwrap())
            .unwrap();
        for (b, group) in active.iter_mut().enumerate() {
            if b != a {
                group
                    .process_incoming_message(MlsMessage::from_bytes(&bytes).unwrap())
                    .unwrap();
            }
        }
    }
    let observer = active.swap_remove(0);
    drop(active);
    assert_eq!(creator.current_epoch(), observer.current_epoch());
    let setup = start.elapsed();

    let out = creator.commit(vec![]).unwrap();
    assert_eq!(out.commit_message.wire_format(), WireFormat::PrivateMessage);
    let commit = out.commit_message.to_bytes().unwrap();
    creator.clear_pending_commit();
    assert!(matches!(
        observer
            .clone()
            .process_incoming_message(MlsMessage::from_bytes(&commit).unwrap())
            .unwrap(),
        ReceivedMessage::Commit(_)
    ));

    let mut probe = creator.clone();
    let app = probe
        .encrypt_application_message(&PAYLOAD, vec![])
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(matches!(
        observer
            .clone()
            .process_incoming_message(MlsMessage::from_bytes(&app).unwrap())
            .unwrap(),
        ReceivedMessage::ApplicationMessage(m) if m.data() == PAYLOAD
    ));

    let joiner = plain_client("joiner");
    let (welcome, tree) = plain_invite(&mut creator, &joiner);
    let (joined, _) = joiner
        .join_group(
            Some(ExportedTree::from_bytes(&tree).unwrap()),
            &MlsMessage::from_bytes(&welcome).unwrap(),
            None,
        )
        .unwrap();
    assert_eq!(joined.current_member_index() as usize, n);

    Plain {
        setup,
        creator,
        observer,
        commit,
        app_len: app.len(),
        welcome_len: welcome.len(),
        tree_len: tree.len(),
        joiners: 0,
    }
}

// ---------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------

fn summary(blind: &[Blind], plain: &[Plain]) {
    println!("blind groups vs plain mls-rs 0.57, suite 3 (X25519, ChaCha20-Poly1305, Ed25519)");
    println!(
        "blind commit: envelope = the 0x09 group envelope in the 0x31 commit request (what the \
         relay stores, padded); unpadded = blind message + {GROUP_ENVELOPE_OVERHEAD} B envelope \
         framing"
    );
    println!(
        "app overhead for a {APP_LEN}-byte message: blind envelope - {APP_LEN} (padded), blind \
         unpadded envelope - {APP_LEN}, blind message alone - {APP_LEN}; plain MLSMessage - \
         {APP_LEN}"
    );
    println!(
        "| n | setup blind (s) | setup plain (s) | commit blind envelope (B) | commit blind \
         unpadded (B) | commit blind message (B) | commit plain (B) | app overhead blind padded \
         (B) | app overhead blind unpadded (B) | app overhead blind message (B) | app overhead \
         plain (B) | invite blind (B) = welcome + tree | welcome plain (B) | tree plain (B) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (b, p) in blind.iter().zip(plain) {
        assert_eq!(
            padded_len(b.app_blind_len).unwrap() + GROUP_ENVELOPE_OVERHEAD,
            b.app_envelope_len
        );
        println!(
            "| {} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} = {} + {} (+10) | {} | {} |",
            b.n,
            b.setup.as_secs_f64(),
            p.setup.as_secs_f64(),
            b.commit_envelope.len(),
            b.commit_blind_len + GROUP_ENVELOPE_OVERHEAD,
            b.commit_blind_len,
            p.commit.len(),
            b.app_envelope_len - APP_LEN,
            b.app_blind_len + GROUP_ENVELOPE_OVERHEAD - APP_LEN,
            b.app_blind_len - APP_LEN,
            p.app_len - APP_LEN,
            b.invite_len,
            b.welcome_len,
            b.tree_len,
            p.welcome_len,
            p.tree_len,
        );
    }
    for b in blind {
        println!(
            "n = {}: the blind setup adds the members in {} commits (at most {ADD_BATCH} per \
             commit: all at once exceeds the group envelope's maximum), the first one's \
             envelope: {} B",
            b.n, b.add_commits, b.first_batch_envelope_len
        );
    }
}

/// The benchmarks that only the creator takes part in run on a copy of its state, so the
/// creator the observer follows sends application messages from generation 0 in
/// `app_decrypt` (MLS accepts at most 1024 generations ahead).
fn benches(c: &mut Criterion, blind: &mut [Blind], plain: &mut [Plain]) {
    {
        let mut g = c.benchmark_group("commit_create");
        for b in blind.iter_mut() {
            let creator = &mut b.creator.snapshot().unwrap();
            g.bench_function(BenchmarkId::new("blind", b.n), |bench| {
                bench.iter(|| {
                    let out = creator.commit(&Change::default(), NOW).unwrap();
                    creator.commit_refused();
                    out
                });
            });
        }
        for (p, n) in plain.iter_mut().zip(blind.iter().map(|b| b.n)) {
            let creator = &mut p.creator.clone();
            g.bench_function(BenchmarkId::new("plain", n), |bench| {
                bench.iter(|| {
                    let out = creator.commit(vec![]).unwrap();
                    let bytes = out.commit_message.to_bytes().unwrap();
                    creator.clear_pending_commit();
                    bytes
                });
            });
        }
        g.finish();
    }
    {
        let mut g = c.benchmark_group("commit_process");
        for b in blind.iter() {
            g.bench_function(BenchmarkId::new("blind", b.n), |bench| {
                bench.iter_batched(
                    || b.observer.snapshot().unwrap(),
                    |mut observer| {
                        let r = observer.receive(&b.commit_envelope, NOW).unwrap();
                        (observer, r)
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        for (p, n) in plain.iter().zip(blind.iter().map(|b| b.n)) {
            g.bench_function(BenchmarkId::new("plain", n), |bench| {
                bench.iter_batched(
                    || p.observer.clone(),
                    |mut observer| {
                        let m = MlsMessage::from_bytes(&p.commit).unwrap();
                        let r = observer.process_incoming_message(m).unwrap();
                        (observer, r)
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        g.finish();
    }
    {
        let mut g = c.benchmark_group("join");
        for b in blind.iter_mut() {
            let (creator, rng) = (&mut b.creator.snapshot().unwrap(), &mut b.rng);
            g.bench_function(BenchmarkId::new("blind", b.n), |bench| {
                bench.iter_batched(
                    || {
                        let joiner = blind_member(rng);
                        let change = Change {
                            add: vec![joiner.key_package(NOW).unwrap()],
                            remove: vec![],
                        };
                        let out = creator.commit(&change, NOW).unwrap();
                        creator.commit_refused();
                        (joiner, out.invite.unwrap())
                    },
                    |(joiner, invite)| joiner.join(&invite, NOW).unwrap(),
                    BatchSize::SmallInput,
                );
            });
        }
        for (p, n) in plain.iter_mut().zip(blind.iter().map(|b| b.n)) {
            let (creator, joiners) = (&mut p.creator.clone(), &mut p.joiners);
            g.bench_function(BenchmarkId::new("plain", n), |bench| {
                bench.iter_batched(
                    || {
                        *joiners += 1;
                        let joiner = plain_client(&format!("joiner-{joiners}"));
                        let (welcome, tree) = plain_invite(creator, &joiner);
                        (joiner, welcome, tree)
                    },
                    |(joiner, welcome, tree)| {
                        joiner
                            .join_group(
                                Some(ExportedTree::from_bytes(&tree).unwrap()),
                                &MlsMessage::from_bytes(&welcome).unwrap(),
                                None,
                            )
                            .unwrap()
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        g.finish();
    }
    {
        let mut g = c.benchmark_group("app_encrypt_100B");
        for b in blind.iter_mut() {
            let creator = &mut b.creator.snapshot().unwrap();
            g.bench_function(BenchmarkId::new("blind", b.n), |bench| {
                bench.iter(|| creator.send(&PAYLOAD).unwrap());
            });
        }
        for (p, n) in plain.iter_mut().zip(blind.iter().map(|b| b.n)) {
            let creator = &mut p.creator.clone();
            g.bench_function(BenchmarkId::new("plain", n), |bench| {
                bench.iter(|| {
                    creator
                        .encrypt_application_message(&PAYLOAD, vec![])
                        .unwrap()
                        .to_bytes()
                        .unwrap()
                });
            });
        }
        g.finish();
    }
    {
        // Each iteration decrypts a fresh message from the creator (made untimed), in order.
        let mut g = c.benchmark_group("app_decrypt_100B");
        for b in blind.iter_mut() {
            let (creator, observer) = (&mut b.creator, &mut b.observer);
            g.bench_function(BenchmarkId::new("blind", b.n), |bench| {
                bench.iter_batched(
                    || creator.send(&PAYLOAD).unwrap(),
                    |envelope| observer.receive(&envelope, NOW).unwrap(),
                    BatchSize::SmallInput,
                );
            });
        }
        for (p, n) in plain.iter_mut().zip(blind.iter().map(|b| b.n)) {
            let (creator, observer) = (&mut p.creator, &mut p.observer);
            g.bench_function(BenchmarkId::new("plain", n), |bench| {
                bench.iter_batched(
                    || {
                        creator
                            .encrypt_application_message(&PAYLOAD, vec![])
                            .unwrap()
                            .to_bytes()
                            .unwrap()
                    },
                    |bytes| {
                        observer
                            .process_incoming_message(MlsMessage::from_bytes(&bytes).unwrap())
                            .unwrap()
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        g.finish();
    }
}

/// Where criterion writes its results (its own rule: `CRITERION_HOME`, else the cargo
/// target directory's `criterion`).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // target/release/deps/groups-<hash>
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let ns: &[usize] = if full { &[10, 100, 1000] } else { &[10] };
    let mut blind: Vec<Blind> = ns.iter().map(|&n| blind_setup(n)).collect();
    let mut plain: Vec<Plain> = ns.iter().map(|&n| plain_setup(n)).collect();
    summary(&blind, &plain);

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .nresamples(10_000)
        .configure_from_args();
    benches(&mut c, &mut blind, &mut plain);
    c.final_summary();
    println!(
        "criterion results: {} (<group>/<blind|plain>/<n>/new/estimates.json; median = \
         \"median\".point_estimate, in ns)",
        criterion_home().display()
    );
}
