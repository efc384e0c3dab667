//! The main job: three clients and an in-process relay run the whole protocol, then the
//! demo prints everything the relay stored and checks that none of it contains a
//! plaintext, a phone number, or a sender's identity key. Exits non-zero if it does.
//!
//! Run: `cargo run --release --example relay_demo`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{
    normalize_lenient, BucketBits, BucketEntry, ContactId, DiscoveryParameters, DiscoverySecret,
    LookupRequest, LookupResponse, Registration, SaltNonce, VerifiedDiscovery,
};
use blindrelay::envelope::{open, seal, Envelope, PairwiseEnvelope, RelayEnvelope};
use blindrelay::fingerprint::SafetyNumber;
use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::route::{verify_read_capability, ReadCapability};
use blindrelay::{
    accept_opened, initiate, BundleKeys, IdentityKeyPair, IdentityPublicKey, IdentityRecord,
    MemoryPrekeyStore, PrekeyBundle, Session, StorageKey,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::process::ExitCode;
use std::time::Instant;

/// What the relay stores, and nothing else: registrations by bucket, bundles by mailbox,
/// queued envelopes by mailbox. It also keeps a log of every byte string it received, by
/// kind, for the relay-view check at the end.
#[derive(Default)]
struct Relay {
    buckets: BTreeMap<u32, Vec<BucketEntry>>,
    bundles: HashMap<[u8; 32], Vec<u8>>,
    queues: HashMap<[u8; 32], VecDeque<Vec<u8>>>,
    seen: Vec<(&'static str, Vec<u8>)>,
    /// The mailbox of every envelope deposited, in order, with its kind: what the relay
    /// can link (spec §11.1).
    deposits: Vec<(&'static str, [u8; 32])>,
    /// Fetches refused for a wrong read capability.
    refused: usize,
}

impl Relay {
    fn register(&mut self, params: &DiscoveryParameters, bytes: &[u8]) {
        self.seen.push(("registration", bytes.to_vec()));
        let reg = Registration::decode_exact(bytes).expect("well-formed registration");
        let (bucket, entry) = params.bucket_entry(&reg).expect("current generation");
        self.buckets.entry(bucket).or_default().push(entry);
    }
    fn upload_bundle(&mut self, bytes: &[u8]) {
        self.seen.push(("bundle upload", bytes.to_vec()));
        let bundle = PrekeyBundle::decode_exact(bytes).expect("well-formed bundle");
        self.bundles.insert(bundle.mailbox, bytes.to_vec());
    }
    fn lookup(&mut self, params: &DiscoveryParameters, bytes: &[u8]) -> Vec<u8> {
        // A lookup is answered and forgotten; the log keeps it only for the check below.
        self.seen.push(("lookup request", bytes.to_vec()));
        let req = LookupRequest::decode_exact(bytes).expect("well-formed request");
        let resp = params
            .answer(&req, |p| self.buckets.get(&p).cloned().unwrap_or_default())
            .expect("answer");
        resp.to_bytes()
    }
    fn post(&mut self, bytes: &[u8]) {
        self.seen.push(("envelope", bytes.to_vec()));
        // All a relay needs: parse without keys, read the mailbox.
        let env = RelayEnvelope::parse(bytes).expect("well-formed envelope");
        let kind = match env {
            RelayEnvelope::Sealed(_) => "sealed",
            RelayEnvelope::Pairwise(_) => "pairwise",
        };
        self.deposits.push((kind, *env.mailbox()));
        self.queues
            .entry(*env.mailbox())
            .or_default()
            .push_back(bytes.to_vec());
    }
    /// Serves a mailbox only to a reader presenting its read capability (spec §8.13).
    fn fetch(&mut self, mailbox: &[u8; 32], capability: &[u8; 32], reverse: bool) -> Vec<Vec<u8>> {
        self.seen.push(("fetch capability", capability.to_vec()));
        if !verify_read_capability(mailbox, capability) {
            self.refused += 1;
            return Vec::new();
        }
        let q = self.queues.entry(*mailbox).or_default();
        let mut out: Vec<Vec<u8>> = q.drain(..).collect();
        if reverse {
            out.reverse();
        }
        out
    }
}

struct Client {
    name: &'static str,
    number: &'static str,
    identity: IdentityKeyPair,
    sealing: SealingKeySecret,
    /// The read capability of our public mailbox; the mailbox id is its hash.
    public_capability: ReadCapability,
    mailbox: [u8; 32],
    store: MemoryPrekeyStore,
    bundle: PrekeyBundle,
    /// Our signed identity record, carried by our initial messages (spec §6.3).
    record: IdentityRecord,
    discovery_secret: DiscoverySecret,
    sessions: HashMap<IdentityPublicKey, Session>,
    /// Each peer's public mailbox and sealing key, for probes.
    routes: HashMap<IdentityPublicKey, ([u8; 32], [u8; 32])>,
    /// Probes sent.
    probes: usize,
    received: Vec<(IdentityPublicKey, Vec<u8>)>,
}

impl Client {
    fn new(rng: &mut ChaCha20Rng, name: &'static str, number: &'static str) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let sealing = SealingKeySecret::generate(rng);
        let spk = SignedPrekeySecret::generate(rng);
        let kem = KemPrekeySecret::generate(rng);
        let opk = OneTimePrekeySecret::generate(rng);
        let otk = OneTimeKemPrekeySecret::generate(rng);
        let public_capability = ReadCapability::generate(rng);
        let mailbox = public_capability.mailbox();
        let bundle = PrekeyBundle::create(&BundleKeys {
            identity: &identity,
            mailbox,
            sealing: &sealing,
            signed_prekey: (1, &spk),
            kem_prekey: (2, &kem),
            one_time_prekey: Some((3, &opk)),
            one_time_kem_prekey: Some((4, &otk)),
        });
        let mut store = MemoryPrekeyStore::new();
        store.insert_signed_prekey(1, spk);
        store.insert_kem_prekey(2, kem);
        store.insert_one_time_prekey(3, opk);
        store.insert_one_time_kem_prekey(4, otk);
        Self {
            name,
            number,
            identity,
            sealing,
            public_capability,
            mailbox,
            store,
            record: bundle.identity_record(),
            bundle,
            discovery_secret: DiscoverySecret::generate(rng),
            sessions: HashMap::new(),
            routes: HashMap::new(),
            probes: 0,
            received: Vec::new(),
        }
    }

    fn contact_id(&self, discovery: &VerifiedDiscovery, number: &str) -> ContactId {
        let number = normalize_lenient(number).expect("a phone number");
        discovery
            .hasher()
            .expect("hasher")
            .contact_id(&number)
            .expect("hash")
    }

    /// Starts a session with the owner of `bundle` and sends the first message: an
    /// initial message sealed (HPKE) to the peer's public mailbox (spec §8.7).
    fn start(&mut self, rng: &mut ChaCha20Rng, bundle: &PrekeyBundle, text: &str) -> Vec<u8> {
        let verified = bundle.clone().verify().expect("verified bundle");
        self.routes
            .insert(bundle.identity, (bundle.mailbox, bundle.sealing_key));
        let session = self
            .sessions
            .entry(bundle.identity)
            .or_insert_with(|| initiate(rng, &self.identity, &self.record, &verified).unwrap());
        assert!(
            session.is_pending(),
            "an established session sends pairwise"
        );
        let inner = session.encrypt(rng, text.as_bytes()).expect("encrypt");
        seal(
            rng,
            &bundle.mailbox,
            &bundle.sealing_key,
            self.identity.public(),
            &inner,
        )
        .expect("seal")
        .to_bytes()
    }

    /// Sends on an established session: a pairwise envelope to the mailbox the session
    /// derives (spec §8.14, §8.15). No bundle, no directory: a responder replies through
    /// the route its first received message gave it.
    fn reply(&mut self, rng: &mut ChaCha20Rng, peer: &IdentityPublicKey, text: &str) -> Vec<u8> {
        let session = self
            .sessions
            .get_mut(peer)
            .expect("a session with the peer");
        if session.next_send_is_probe() {
            // A probe (spec §8.17): the 4th, 8th, ... message without an answer goes sealed
            // to the peer's public mailbox (from its bundle, or from the identity record its
            // initial message carried), so a peer that lost track of this session notices.
            let (mailbox, sealing_key) = self.routes[peer];
            let inner = session.encrypt(rng, text.as_bytes()).expect("encrypt");
            self.probes += 1;
            return seal(rng, &mailbox, &sealing_key, self.identity.public(), &inner)
                .expect("seal")
                .to_bytes();
        }
        session
            .seal_pairwise(rng, text.as_bytes())
            .expect("pairwise envelope")
    }

    /// Fetches every mailbox this client watches from the relay (its public mailbox and
    /// each session's pairwise mailboxes, by read capability) and processes the envelopes.
    fn poll(&mut self, relay: &mut Relay, reverse: bool) {
        let mut caps = vec![ReadCapability::from_bytes(
            self.public_capability.to_bytes(),
        )];
        for s in self.sessions.values() {
            caps.extend(s.receiving_capabilities());
        }
        for cap in caps {
            let envelopes = relay.fetch(&cap.mailbox(), &cap.to_bytes(), reverse);
            self.receive(envelopes);
        }
    }

    fn receive(&mut self, envelopes: Vec<Vec<u8>>) {
        for bytes in envelopes {
            if let Ok(pairwise) = PairwiseEnvelope::parse(&bytes) {
                // The mailbox names the session; the sender is implied by it.
                let (peer, session) = self
                    .sessions
                    .iter_mut()
                    .find(|(_, s)| s.watches(pairwise.mailbox))
                    .expect("a session watching the mailbox");
                let d = session.open_pairwise(&bytes).expect("open pairwise");
                self.received.push((*peer, d.plaintext));
                continue;
            }
            let env = Envelope::decode_exact(&bytes).expect("envelope");
            let opened = open(&self.sealing, &self.mailbox, &env).expect("open");
            let plaintext = match self.sessions.get_mut(&opened.sender) {
                Some(s) => s.decrypt_opened(&opened).expect("decrypt"),
                None => {
                    let (s, pt) =
                        accept_opened(&self.identity, &mut self.store, &opened).expect("accept");
                    self.sessions.insert(opened.sender, s);
                    // The initiator's identity record (verified by `accept`) names its
                    // public mailbox and sealing key: where probes to it go.
                    let record = opened.initial_message().expect("initial").header.initiator;
                    self.routes
                        .insert(opened.sender, (record.mailbox, record.sealing_key));
                    pt
                }
            };
            self.received.push((opened.sender, plaintext));
        }
    }
}

/// The relay-view check: no stored byte string contains a plaintext or a phone number
/// (as typed or canonical), and no envelope, lookup or registration contains any
/// 8-byte window of a sender's identity keys. Returns every violation found.
fn relay_view_violations(
    seen: &[(&'static str, Vec<u8>)],
    plaintexts: &[&[u8]],
    numbers: &[&str],
    identities: &[IdentityPublicKey],
) -> Vec<String> {
    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
    }
    let mut out = Vec::new();
    for (kind, bytes) in seen {
        for pt in plaintexts {
            if contains(bytes, pt) {
                out.push(format!("a {kind} contains a plaintext"));
            }
        }
        for n in numbers {
            let digits: String = n.chars().filter(char::is_ascii_digit).collect();
            if contains(bytes, n.as_bytes()) || contains(bytes, digits.as_bytes()) {
                out.push(format!("a {kind} contains a phone number"));
            }
        }
        if *kind != "bundle upload" {
            for id in identities {
                for key in [id.signing, id.agreement] {
                    if key.windows(8).any(|w| contains(bytes, w)) {
                        out.push(format!("a {kind} contains an identity key"));
                    }
                }
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let started = Instant::now();
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut relay = Relay::default();

    // The relay publishes signed discovery parameters; clients pin its key.
    let relay_identity = IdentityKeyPair::generate(&mut rng);
    let params = DiscoveryParameters::sign(
        &relay_identity,
        1,
        &SaltNonce::generate(&mut rng),
        BucketBits::new(12).unwrap(),
        256,
    )
    .unwrap();
    let relay_key = relay_identity.public().signing;
    let discovery = DiscoveryParameters::decode_exact(&params.to_bytes())
        .unwrap()
        .verify(&relay_key)
        .expect("clients verify the relay's parameters");
    println!("relay: discovery parameters published (Argon2id salt generation 1, 12-bit buckets)");

    // Fiction-reserved numbers (NANP 555-01xx).
    let mut alice = Client::new(&mut rng, "Alice", "+1 (202) 555-0101");
    let mut bob = Client::new(&mut rng, "Bob", "+12025550102");
    let mut carol = Client::new(&mut rng, "Carol", "+1 202-555-0103");

    // Opt-in registration: each uploads its salted contact id with its mailbox as the
    // record, and its bundle.
    let t = Instant::now();
    for c in [&alice, &bob, &carol] {
        let id = c.contact_id(&discovery, c.number);
        let reg = discovery.register_discoverable(&id, &c.mailbox).unwrap();
        relay.register(&params, &reg.to_bytes());
        relay.upload_bundle(&c.bundle.to_bytes());
    }
    println!(
        "clients: Alice, Bob and Carol registered (3 Argon2id contact ids, {:.0} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Alice discovers who of her address book uses this relay.
    let book = ["+1 202 555 0102", "+1 (202) 555-0103", "+1 202 555 0199"];
    let t = Instant::now();
    let ids: Vec<ContactId> = book
        .iter()
        .map(|n| alice.contact_id(&discovery, n))
        .collect();
    let request = discovery
        .lookup_request(&alice.discovery_secret, &ids)
        .unwrap();
    let response_bytes = relay.lookup(&params, &request.to_bytes());
    let response = LookupResponse::decode_exact(&response_bytes).unwrap();
    let matches = discovery.match_response(&request, &response, &ids).unwrap();
    println!(
        "Alice: looked up {} contacts with {} bucket prefixes ({} B request, {} B response, {:.0} ms); found {}",
        book.len(),
        request.prefixes().len(),
        request.to_bytes().len(),
        response_bytes.len(),
        t.elapsed().as_secs_f64() * 1e3,
        matches.len()
    );
    let mut found = Vec::new();
    for m in &matches {
        let mailbox: [u8; 32] = m.records[0].try_into().unwrap();
        let bundle =
            PrekeyBundle::decode_exact(relay.bundles.get(&mailbox).expect("bundle")).unwrap();
        let verified = bundle.clone().verify().unwrap();
        let sn = SafetyNumber::new(alice.identity.public(), verified.identity());
        println!(
            "Alice: {} is on the relay (unverified until the safety number matches: {})",
            book[m.contact],
            &sn.displayable()[..20]
        );
        found.push(bundle);
    }
    assert_eq!(found.len(), 2, "Bob and Carol, not the unregistered number");
    let (bob_bundle, carol_bundle) = (found[0].clone(), found[1].clone());

    // Two conversations side by side; Bob's mail is delivered in reverse order.
    let mut plaintexts: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let t = Instant::now();
    let mut messages = 0usize;
    for (i, text) in [
        "Hi Bob, it's Alice.",
        "Lunch on Friday?",
        "The usual place.",
    ]
    .iter()
    .enumerate()
    {
        let env = alice.start(&mut rng, &bob_bundle, text);
        sizes.push(env.len());
        relay.post(&env);
        plaintexts.push((*text).to_string());
        let note = format!("Carol, message {i} from Alice");
        relay.post(&alice.start(&mut rng, &carol_bundle, &note));
        plaintexts.push(note);
        messages += 2;
    }
    // Someone who knows Bob's public mailbox id (it is in his bundle) but not its read
    // capability is refused, and the mail stays queued.
    let guessed = ReadCapability::generate(&mut rng).to_bytes();
    assert!(relay.fetch(&bob.mailbox, &guessed, false).is_empty());
    assert_eq!(relay.refused, 1);
    bob.poll(&mut relay, true);
    carol.poll(&mut relay, false);
    println!(
        "Bob: received {} messages (delivered in reverse order), Carol: {}",
        bob.received.len(),
        carol.received.len()
    );
    assert_eq!(bob.received.len(), 3);

    // Bob restarts: his sessions go to storage sealed under a key from his keystore.
    let storage_key = StorageKey::generate(&mut rng);
    let saved: Vec<(IdentityPublicKey, Vec<u8>)> = bob
        .sessions
        .iter()
        .map(|(k, s)| {
            // Bound to both identities, a slot (here the peer's identity bytes) and the
            // save's epoch (spec §7.8); a store keeps the newest epoch per slot.
            let sealed = s
                .seal(&mut rng, &storage_key, &k.to_array(), 1)
                .expect("seal");
            (*k, sealed)
        })
        .collect();
    let bob_session_size = saved[0].1.len();
    bob.sessions.clear();
    for (peer, sealed) in saved {
        let (session, epoch) = Session::open(
            &storage_key,
            bob.identity.public(),
            &peer,
            &peer.to_array(),
            &sealed,
        )
        .expect("restore");
        assert_eq!(epoch, 1, "the newest save");
        bob.sessions.insert(peer, session);
    }
    println!(
        "Bob: restarted, {} session restored from sealed storage ({bob_session_size} B)",
        bob.sessions.len()
    );

    // Replies in both directions, after the restart, through the routes the first
    // messages gave: neither Bob nor Carol ever fetches Alice's bundle.
    let alice_id = *alice.identity.public();
    for text in ["Friday works. See you there.", "Bring the photos!"] {
        relay.post(&bob.reply(&mut rng, &alice_id, text));
        plaintexts.push(text.to_string());
        messages += 1;
    }
    relay.post(&carol.reply(&mut rng, &alice_id, "Got all three, thanks"));
    plaintexts.push("Got all three, thanks".to_string());
    messages += 1;
    alice.poll(&mut relay, false);
    let bob_id = *bob.identity.public();
    for text in ["Great!", "Will do."] {
        let env = alice.reply(&mut rng, &bob_id, text);
        sizes.push(env.len());
        relay.post(&env);
        plaintexts.push(text.to_string());
        messages += 1;
    }
    bob.poll(&mut relay, false);
    // A longer exchange: the pairwise mailbox rotates at every change of direction.
    for round in 0..6 {
        let text = format!("ping {round}");
        relay.post(&bob.reply(&mut rng, &alice_id, &text));
        plaintexts.push(text);
        alice.poll(&mut relay, false);
        let text = format!("pong {round}");
        relay.post(&alice.reply(&mut rng, &bob_id, &text));
        plaintexts.push(text);
        bob.poll(&mut relay, false);
        messages += 2;
    }
    // A one-way run: Carol sends five notes without an answer. The 4th is a probe (spec
    // §8.17), sealed to Alice's public mailbox; Alice's session decrypts it as any other.
    for i in 0..5 {
        let text = format!("Carol's note {i}");
        relay.post(&carol.reply(&mut rng, &alice_id, &text));
        plaintexts.push(text);
        messages += 1;
    }
    alice.poll(&mut relay, false);
    assert_eq!(carol.probes, 1, "the 4th message of the run");
    let elapsed = t.elapsed();
    for (who, c) in [("Alice", &alice), ("Bob", &bob), ("Carol", &carol)] {
        for (sender, pt) in &c.received {
            let from = [&alice, &bob, &carol]
                .iter()
                .find(|x| x.identity.public() == sender)
                .map_or("?", |x| x.name);
            println!("  {who} <- {from}: {}", String::from_utf8_lossy(pt));
        }
    }
    assert_eq!(alice.received.len(), 14);
    assert_eq!(bob.received.len(), 11);
    println!(
        "{messages} messages in {:.1} ms end to end (handshakes, envelopes, decryption); envelope sizes {:?} B",
        elapsed.as_secs_f64() * 1e3,
        sizes
    );
    let session_sizes: Vec<usize> = alice
        .sessions
        .values()
        .map(|s| s.to_bytes().len())
        .collect();
    println!("Alice's session states: {session_sizes:?} B");

    // The relay's view.
    println!("\nWhat the relay stored or saw:");
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (kind, bytes) in &relay.seen {
        let e = by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += bytes.len();
    }
    for (kind, (n, total)) in &by_kind {
        println!("  {kind:>15}: {n:>2} items, {total:>6} bytes");
    }
    for (kind, bytes) in relay.seen.iter().filter(|(k, _)| *k == "envelope").take(2) {
        println!(
            "  e.g. {kind} of {} B: mailbox {}…, the rest is ciphertext",
            bytes.len(),
            hex(&bytes[2..10])
        );
    }
    // Mailboxes: first messages to public mailboxes, everything after to pairwise ones,
    // each pairwise id used in one rotation period only, none equal to a public one.
    let public: BTreeSet<[u8; 32]> = [alice.mailbox, bob.mailbox, carol.mailbox].into();
    let sealed = relay
        .deposits
        .iter()
        .filter(|(k, _)| *k == "sealed")
        .count();
    let mut periods: Vec<[u8; 32]> = Vec::new();
    for (kind, m) in &relay.deposits {
        if *kind == "pairwise" && periods.last() != Some(m) {
            periods.push(*m);
        }
    }
    let pairwise: BTreeSet<[u8; 32]> = relay
        .deposits
        .iter()
        .filter(|(k, _)| *k == "pairwise")
        .map(|(_, m)| *m)
        .collect();
    println!(
        "  envelopes: {sealed} sealed (HPKE) to public mailboxes (first messages and {} probe), {} pairwise to {} distinct pairwise mailboxes; none is a public mailbox: {}; fetches refused: {}",
        carol.probes,
        relay.deposits.len() - sealed,
        pairwise.len(),
        pairwise.is_disjoint(&public),
        relay.refused
    );
    assert!(pairwise.is_disjoint(&public));
    assert!(relay
        .deposits
        .iter()
        .all(|(k, m)| (*k == "sealed") == public.contains(m)));
    let texts: Vec<&[u8]> = plaintexts.iter().map(|p| p.as_bytes()).collect();
    let numbers: Vec<&str> = [alice.number, bob.number, carol.number]
        .into_iter()
        .chain(book)
        .collect();
    let ids = [
        *alice.identity.public(),
        *bob.identity.public(),
        *carol.identity.public(),
    ];
    let violations = relay_view_violations(&relay.seen, &texts, &numbers, &ids);
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if violations.is_empty() {
        println!("relay-view check: no plaintext, no phone number, no sender identity key in anything the relay saw");
        ExitCode::SUCCESS
    } else {
        for v in &violations {
            eprintln!("relay-view check FAILED: {v}");
        }
        ExitCode::FAILURE
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check is not vacuous: a leaked plaintext, phone number or identity key fails it.
    #[test]
    fn the_relay_view_check_can_fail() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let id = *IdentityKeyPair::generate(&mut rng).public();
        let clean = vec![("envelope", vec![0u8; 64])];
        assert!(relay_view_violations(&clean, &[b"secret"], &["+12025550101"], &[id]).is_empty());
        let leaks = [
            b"xx secret xx".to_vec(),
            b"call 12025550101".to_vec(),
            [&[0u8; 5][..], &id.signing[3..11], &[0u8; 5]].concat(),
        ];
        for leak in leaks {
            let seen = vec![("envelope", leak)];
            assert!(
                !relay_view_violations(&seen, &[b"secret"], &["+12025550101"], &[id]).is_empty()
            );
        }
    }
}
