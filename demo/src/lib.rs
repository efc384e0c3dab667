//! The end-to-end demo, the project's main job: three clients talk through the real relay
//! (`blindrelay-relay`, in process, on 127.0.0.1) over HTTP and WebSocket only, then the
//! relay's database is dumped and checked for anything spec §11 forbids it to hold.
//!
//! What [`run`] does, in order:
//!
//! 1. starts the relay on a fresh SQLite file, with a discovery key the clients pin;
//! 2. Alice, Bob and Carol (each a `blindrelay-client` [`Client`] on its own SQLite file)
//!    publish signed bundles, upload one-time prekeys and register as discoverable;
//! 3. Alice looks up her address book (`/v1/lookup`), finds Bob and Carol, claims their
//!    bundles (one one-time prekey per claim: the pool count goes down) and sends first
//!    messages, sealed (HPKE) to their public mailboxes; Carol gets hers pushed over the
//!    WebSocket, Bob fetches and acknowledges;
//! 4. Bob restarts from his SQLite file; replies go through pairwise mailboxes
//!    (spec §8.14–§8.17), one batch is delivered in reverse order, the mailboxes rotate,
//!    and a one-way run makes Carol's client send a probe to Alice's public mailbox;
//! 5. the relay itself stops with envelopes waiting, reopens the same file on a new port,
//!    and Alice fetches them; Carol discovers Bob and leaves him an unread message;
//! 6. the relay stops; its tables are listed and the relay-view check ([`view::check`])
//!    scans the raw files, every row and the relay's log;
//! 7. contact discovery again with suite `ch2`, through a relay wired to an oracle in its
//!    own process ([`ch2::run`]).

#![forbid(unsafe_code)]

pub mod ch2;
pub mod group;
pub mod view;

use blindrelay::contact::{
    normalize_lenient, ContactId, DiscoverySecret, GenerationMark, LookupLedger, VerifiedDiscovery,
};
use blindrelay::envelope::RelayEnvelope;
use blindrelay::relay::{PublishRequest, RegisterRequest, UploadKeysRequest, MAX_FETCH_LIMIT};
use blindrelay::{IdentityPublicKey, Position, PrekeyBundle};
use blindrelay_client::{BundleSource, Client, OsRng, Outcome, SqliteStore as ClientStore};
use blindrelay_relay::server::DiscoveryKey;
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::{Store, StoreError};
use blindrelay_relay::{ClientError, Clock, Relay, RelayClient, Running};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use view::{Evidence, Finding, Secrets};

/// The three parties: name (also the address others know them by) and phone number
/// (fiction-reserved NANP 555-01xx), as each typed it.
pub const PARTIES: [(&str, &str); 3] = [
    ("Alice", "+1 (202) 555-0101"),
    ("Bob", "+12025550102"),
    ("Carol", "+1 202-555-0103"),
];

/// Alice's address book: Bob, Carol, and a number nobody registered.
pub const ADDRESS_BOOK: [&str; 3] = ["+1 202 555 0102", "+1 (202) 555-0103", "+1 202 555 0199"];

/// One-time prekeys each party uploads.
pub const POOL: usize = 5;

/// How long a publication is valid (seconds).
const PUBLICATION_LIFETIME: u64 = 7 * 24 * 3600;

/// Why the demo stopped.
#[derive(Debug)]
pub struct DemoError(pub String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

macro_rules! from_error {
    ($($t:ty),*) => {$(
        impl From<$t> for DemoError {
            fn from(e: $t) -> Self {
                Self(e.to_string())
            }
        }
    )*};
}
from_error!(
    std::io::Error,
    blindrelay::Error,
    blindrelay_client::Error,
    ClientError,
    StoreError
);

/// Adds what was being done to an error.
trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T, DemoError>;
}

impl<T, E: Into<DemoError>> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T, DemoError> {
        self.map_err(|e| DemoError(format!("{what}: {}", e.into())))
    }
}

fn ensure(condition: bool, what: impl fmt::Display) -> Result<(), DemoError> {
    if condition {
        Ok(())
    } else {
        Err(DemoError(format!("unexpected: {what}")))
    }
}

/// One message sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The sender's name.
    pub from: &'static str,
    /// The recipient's name.
    pub to: &'static str,
    /// The message.
    pub text: String,
    /// `"sealed"` (a first message, HPKE to the public mailbox), `"probe"` (a later one
    /// sent the same way, spec §8.17) or `"pairwise"`.
    pub kind: &'static str,
    /// Left in the relay unread at the end (so the dump shows waiting envelopes).
    pub unread: bool,
}

/// One message delivered (an [`Outcome::Delivered`]), in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The recipient's name.
    pub to: &'static str,
    /// The sender's name, from the identity the session authenticated.
    pub from: &'static str,
    /// The message.
    pub text: String,
    /// Its position in the sender's order (`None` for the message that started a session).
    pub position: Option<Position>,
    /// Pushed over the WebSocket rather than fetched.
    pub pushed: bool,
}

/// What a run did, for the tests.
#[derive(Debug)]
pub struct Report {
    /// Every message sent, in order.
    pub sent: Vec<Sent>,
    /// Every message delivered, in arrival order.
    pub delivered: Vec<Delivered>,
    /// Re-deliveries the client recognised (a push and its backlog may overlap).
    pub duplicates: usize,
    /// Bob's one-time X25519 pool on the relay: after the upload, after Alice's claim,
    /// after Carol's claim.
    pub bob_pool: Vec<u32>,
    /// Envelopes waiting when the relay stopped for its restart.
    pub waiting_at_restart: usize,
    /// The ports of the relay before and after its restart.
    pub ports: (u16, u16),
    /// What the relay must never hold.
    pub secrets: Secrets,
    /// Everything the relay wrote: the raw files read after it stopped (store still
    /// open, then closed), every row of `dump()`, its log.
    pub evidence: Evidence,
    /// The relay-view check of `evidence` against `secrets`.
    pub findings: Vec<Finding>,
}

/// The bundles a party has claimed, by address: the client's [`BundleSource`].
#[derive(Default)]
struct Bundles(HashMap<String, PrekeyBundle>);

impl BundleSource for Bundles {
    fn bundle(&mut self, address: &str) -> Result<Option<PrekeyBundle>, blindrelay_client::Error> {
        Ok(self.0.get(address).cloned())
    }
}

struct Member {
    name: &'static str,
    number: &'static str,
    db: PathBuf,
    client: Client<ClientStore>,
    http: RelayClient,
    bundles: Bundles,
    /// Peers learnt from received messages (their identity, authenticated by the session).
    contacts: HashMap<&'static str, IdentityPublicKey>,
    /// The highest salt generation accepted from the pinned relay key (spec §9.6.1).
    mark: GenerationMark,
}

impl Member {
    fn capability(&self) -> Result<blindrelay::route::ReadCapability, DemoError> {
        self.client
            .public_capability()
            .ok_or_else(|| DemoError(format!("{} has no public capability", self.name)))
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The shared state of a run.
struct Demo<'o, W: Write> {
    out: &'o mut W,
    rng: OsRng,
    parties: Vec<(&'static str, IdentityPublicKey, [u8; 32])>,
    sent: Vec<Sent>,
    delivered: Vec<Delivered>,
    duplicates: usize,
    /// Every read capability a client used, with who used it.
    capabilities: BTreeMap<[u8; 32], &'static str>,
}

impl<W: Write> Demo<'_, W> {
    fn name_of(&self, id: &IdentityPublicKey) -> Result<&'static str, DemoError> {
        self.parties
            .iter()
            .find(|(_, p, _)| p == id)
            .map(|(n, _, _)| *n)
            .ok_or_else(|| DemoError("a message from an unknown identity".into()))
    }

    /// Encrypts and deposits one message: to a claimed bundle's address if `from` has
    /// one, else to the identity learnt from a received message (no bundle needed).
    async fn send(
        &mut self,
        from: &mut Member,
        to: &'static str,
        text: &str,
        unread: bool,
    ) -> Result<(), DemoError> {
        let envelope = if from.bundles.0.contains_key(to) {
            from.client
                .send(&mut self.rng, &mut from.bundles, to, text.as_bytes())
        } else {
            let peer = *from
                .contacts
                .get(to)
                .ok_or_else(|| DemoError(format!("{} does not know {to}", from.name)))?;
            from.client
                .send_to(&mut self.rng, &mut from.bundles, &peer, text.as_bytes())
        }
        .context(format!("{} encrypts for {to}", from.name))?;
        // A sealed envelope to a peer we have heard from is a probe (spec §8.17): the
        // client sends the 4th, 8th, ... unanswered message to the public mailbox.
        let kind = match RelayEnvelope::parse(&envelope)? {
            RelayEnvelope::Sealed(_) if from.contacts.contains_key(to) => "probe",
            RelayEnvelope::Sealed(_) => "sealed",
            RelayEnvelope::Pairwise(_) => "pairwise",
            RelayEnvelope::Group(_) => "group",
        };
        if kind == "probe" {
            writeln!(
                self.out,
                "  ({} -> {to}: {text:?} goes as a probe, sealed to {to}'s public mailbox)",
                from.name
            )?;
        }
        from.http
            .deposit(envelope)
            .await
            .context(format!("{} deposits for {to}", from.name))?;
        self.sent.push(Sent {
            from: from.name,
            to,
            text: text.to_owned(),
            kind,
            unread,
        });
        Ok(())
    }

    /// Hands one envelope to the client and records the outcome.
    fn receive(&mut self, m: &mut Member, envelope: &[u8], pushed: bool) -> Result<(), DemoError> {
        match m
            .client
            .receive(&mut self.rng, &mut m.bundles, envelope)
            .context(format!("{} opens an envelope", m.name))?
        {
            Outcome::Delivered(r) => {
                let from = self.name_of(&r.sender)?;
                m.contacts.insert(from, r.sender);
                let text = String::from_utf8_lossy(&r.plaintext).into_owned();
                let position = r.position.map_or_else(
                    || "new session".to_owned(),
                    |p| format!("chain {}, #{}", p.chain, p.number),
                );
                writeln!(
                    self.out,
                    "  {:<5} <- {:<5} {} {text:?} ({position})",
                    m.name,
                    from,
                    if pushed { "[push] " } else { "[fetch]" },
                )?;
                self.delivered.push(Delivered {
                    to: m.name,
                    from,
                    text,
                    position: r.position,
                    pushed,
                });
            }
            Outcome::Duplicate { .. } => self.duplicates += 1,
            other => {
                return Err(DemoError(format!(
                    "{}: unexpected outcome {other:?}",
                    m.name
                )))
            }
        }
        Ok(())
    }

    /// Fetches every mailbox the client watches (public and pairwise, by read capability),
    /// hands the envelopes to the client (in reverse order if asked), acknowledges them,
    /// and repeats until nothing is left (a delivery can add mailboxes to watch).
    async fn poll(&mut self, m: &mut Member, reverse: bool) -> Result<usize, DemoError> {
        let mut total = 0;
        loop {
            let caps = m.client.watched_mailboxes()?;
            let mut batch = Vec::new();
            let mut acks = Vec::new();
            for cap in &caps {
                self.capabilities.insert(cap.to_bytes(), m.name);
                let page = m
                    .http
                    .fetch(cap, 0, MAX_FETCH_LIMIT)
                    .await
                    .context(format!("{} fetches", m.name))?;
                if let Some(last) = page.envelopes.last() {
                    acks.push((cap, last.seq));
                }
                batch.extend(page.envelopes.into_iter().map(|e| e.envelope));
            }
            if batch.is_empty() {
                return Ok(total);
            }
            if reverse {
                batch.reverse();
            }
            for envelope in &batch {
                self.receive(m, envelope, false)?;
                total += 1;
            }
            for (cap, seq) in acks {
                m.http
                    .ack(cap, seq)
                    .await
                    .context(format!("{} acknowledges", m.name))?;
            }
        }
    }
}

/// Runs the demo in `dir` on the relay's SQLite backend, writing its narration to `out`.
///
/// The relay's log is captured (`blindrelay_relay::log::capture`, process-wide) for the
/// check: run one demo at a time per process.
///
/// # Errors
/// Any failure of the relay, a client or the protocol, or an outcome other than the
/// expected one. A leak found by the relay-view check is not an error: it is in
/// [`Report::findings`].
pub async fn run(dir: &Path, out: &mut impl Write) -> Result<Report, DemoError> {
    run_with(dir, out, SqliteStore::open).await
}

pub(crate) async fn start_relay<S: Store>(
    dir: &Path,
    store: S,
) -> Result<(Arc<Relay<S>>, Running, String), DemoError> {
    let relay = Arc::new(blindrelay_relay::relay_with(store, Clock::System, dir)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = blindrelay_relay::start(Arc::clone(&relay), listener)?;
    let base = format!("http://{}", running.addr);
    Ok((relay, running, base))
}

/// Stops the relay and takes its store back once every task has let go of it.
pub(crate) async fn stop_relay<S: Store>(
    relay: Arc<Relay<S>>,
    running: Running,
) -> Result<S, DemoError> {
    running.stop().await;
    let mut relay = relay;
    for _ in 0..200 {
        match Arc::try_unwrap(relay) {
            Ok(r) => return Ok(r.store),
            Err(still_shared) => {
                relay = still_shared;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }
    Err(DemoError(
        "the relay's state is still shared 5 s after it stopped".into(),
    ))
}

/// Every file of `dir` the relay wrote (its database files and discovery key).
pub(crate) fn relay_files(dir: &Path, when: &str) -> Result<Vec<(String, Vec<u8>)>, DemoError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("relay.db") || name == "discovery.key" {
            files.push((format!("{name} ({when})"), std::fs::read(entry.path())?));
        }
    }
    files.sort();
    Ok(files)
}

/// As [`run`], over the store `open_store` opens at a path (called again for the relay's
/// restart, on the same path): the relay-view test passes a deliberately leaky one.
///
/// # Errors
/// As [`run`].
#[allow(clippy::too_many_lines)]
pub async fn run_with<S, F>(
    dir: &Path,
    out: &mut impl Write,
    open_store: F,
) -> Result<Report, DemoError>
where
    S: Store,
    F: Fn(&Path) -> Result<S, StoreError>,
{
    let started = Instant::now();
    blindrelay_relay::log::capture();
    let db = dir.join("relay.db");

    // The relay: SQLite file, discovery key, 127.0.0.1 on a free port.
    let (relay, running, base) = start_relay(dir, open_store(&db)?).await?;
    let first_port = running.addr.port();
    // The key clients pin (distributed with the app, in a real deployment).
    let pinned = DiscoveryKey::load_or_create(&dir.join("discovery.key"))?
        .identity
        .public()
        .signing;
    writeln!(
        out,
        "relay: listening on {base} (SQLite {}), discovery key {}",
        db.display(),
        view::short_hex(&pinned)
    )?;

    let mut demo = Demo {
        out,
        rng: OsRng,
        parties: Vec::new(),
        sent: Vec::new(),
        delivered: Vec::new(),
        duplicates: 0,
        capabilities: BTreeMap::new(),
    };

    // The parties: create, publish, upload one-time prekeys, register as discoverable.
    let t = Instant::now();
    let mut members = Vec::new();
    let mut contact_ids: Vec<(String, [u8; 32])> = Vec::new();
    let mut discovery: Option<VerifiedDiscovery> = None;
    for (name, number) in PARTIES {
        let path = dir.join(format!("{}.db", name.to_lowercase()));
        let client = Client::create(&mut demo.rng, ClientStore::open(&path)?, now())?;
        let mut m = Member {
            name,
            number,
            db: path,
            client,
            http: RelayClient::new(&base),
            bundles: Bundles::default(),
            contacts: HashMap::new(),
            mark: GenerationMark::new(),
        };
        let issued = now();
        let publication = m
            .client
            .publication(issued, issued + PUBLICATION_LIFETIME)?;
        m.http
            .publish(&PublishRequest {
                capability: m.capability()?,
                publication,
            })
            .await
            .context(format!("{name} publishes"))?;
        let pool = m.client.generate_one_time_prekeys(&mut demo.rng, POOL)?;
        let (x25519, kem) = pool.into_iter().map(|p| (p.x25519, p.kem)).unzip();
        let counts = m
            .http
            .upload_keys(&UploadKeysRequest {
                capability: m.capability()?,
                x25519,
                kem,
            })
            .await
            .context(format!("{name} uploads one-time prekeys"))?;
        ensure(
            usize::try_from(counts.x25519).ok() == Some(POOL)
                && usize::try_from(counts.kem).ok() == Some(POOL),
            "pool counts after the upload",
        )?;
        // Discovery parameters, verified against the pinned key; the contact id is
        // Argon2id of the number under the relay's salt.
        // Each client keeps its own generation mark for the pinned key (spec §9.6.1).
        let verified = m
            .http
            .discovery()
            .await?
            .verify(&pinned, now(), &mut m.mark)?;
        let id = verified.hasher()?.contact_id(&normalize_lenient(number)?)?;
        contact_ids.push((number.to_owned(), *id.as_bytes()));
        m.http
            .register(&RegisterRequest {
                capability: m.capability()?,
                registration: verified.register_discoverable(&id, m.client.mailbox())?,
            })
            .await
            .context(format!("{name} registers"))?;
        demo.capabilities.insert(m.capability()?.to_bytes(), name);
        demo.parties
            .push((name, *m.client.identity(), *m.client.mailbox()));
        discovery = Some(verified);
        members.push(m);
    }
    let discovery = discovery.ok_or_else(|| DemoError("no parties".into()))?;
    writeln!(
        demo.out,
        "clients: Alice, Bob and Carol published bundles, uploaded {POOL} one-time prekeys each \
         and registered their contact ids ({:.0} ms)",
        t.elapsed().as_secs_f64() * 1e3
    )?;
    let [mut alice, mut bob, mut carol]: [Member; 3] = members
        .try_into()
        .map_err(|_| DemoError("three parties".into()))?;
    let mut bob_pool = vec![bob.http.count(&bob.capability()?).await?.x25519];

    // Alice's contact discovery: padded bucket prefixes, matched locally.
    let t = Instant::now();
    let mut hasher = discovery.hasher()?;
    let mut ids: Vec<ContactId> = Vec::new();
    for number in ADDRESS_BOOK {
        let id = hasher.contact_id(&normalize_lenient(number)?)?;
        contact_ids.push((number.to_owned(), *id.as_bytes()));
        ids.push(id);
    }
    // A lookup batch (spec §9.7): at least half of every request is dummies, and the
    // ledger remembers the batch so an unchanged book is never sent again.
    let alice_secret = DiscoverySecret::generate(&mut demo.rng);
    let mut alice_ledger = LookupLedger::new(&discovery);
    let requests = alice_ledger.plan(&discovery, &alice_secret, &ids)?;
    let mut exchanges = Vec::new();
    for request in requests {
        let response = alice.http.lookup(&request).await?;
        exchanges.push((request, response));
    }
    let pairs: Vec<_> = exchanges.iter().map(|(q, r)| (q, r)).collect();
    let matches = discovery.match_responses(&pairs, &ids)?;
    writeln!(
        demo.out,
        "Alice: looked up {} numbers as {} request(s) of {} padded bucket prefixes ({:.0} ms): \
         {} found",
        ADDRESS_BOOK.len(),
        exchanges.len(),
        exchanges.first().map_or(0, |(q, _)| q.prefixes().len()),
        t.elapsed().as_secs_f64() * 1e3,
        matches.len()
    )?;
    // Each match's record is the registrant's public mailbox: claim its bundle.
    let mut found = Vec::new();
    for m in &matches {
        let mailbox: [u8; 32] = m
            .records
            .first()
            .and_then(|r| <[u8; 32]>::try_from(*r).ok())
            .ok_or_else(|| DemoError("a record that is not a mailbox id".into()))?;
        let bundle = alice
            .http
            .claim(mailbox)
            .await?
            .verify(&mailbox, now())
            .context("Alice verifies a claimed bundle")?;
        let name = demo.name_of(bundle.identity())?;
        let number = ADDRESS_BOOK.get(m.contact).copied().unwrap_or("?");
        let safety =
            blindrelay::fingerprint::SafetyNumber::new(alice.client.identity(), bundle.identity())
                .displayable();
        let groups: Vec<String> = safety
            .as_bytes()
            .chunks(5)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect();
        writeln!(
            demo.out,
            "  {number} is {name}: mailbox {}, bundle claimed, one-time prekeys {}\n    \
             safety number {} (unverified until compared)",
            view::short_hex(&mailbox),
            if bundle.bundle().one_time_prekey.is_some() {
                "attached"
            } else {
                "exhausted"
            },
            groups.join(" ")
        )?;
        alice
            .bundles
            .0
            .insert(name.to_owned(), bundle.bundle().clone());
        found.push(name);
    }
    ensure(found == ["Bob", "Carol"], "Alice finds Bob and Carol only")?;
    bob_pool.push(bob.http.count(&bob.capability()?).await?.x25519);
    writeln!(
        demo.out,
        "relay: Bob's one-time prekey pool {} -> {} after Alice's claim",
        bob_pool.first().copied().unwrap_or(0),
        bob_pool.last().copied().unwrap_or(0)
    )?;

    // First messages, sealed to the public mailboxes. Carol is online: she subscribed to
    // her public mailbox over the WebSocket before Alice wrote.
    writeln!(demo.out, "\nfirst messages (sealed to public mailboxes):")?;
    let carol_cap = carol.capability()?;
    let mut subscription = carol.http.subscribe(&[&carol_cap]).await?;
    let to_bob = [
        "Hi Bob, it's Alice.",
        "Lunch on Friday?",
        "The usual place, noon.",
    ];
    let to_carol = [
        "Carol, it's Alice. New number.",
        "Are you coming on Friday?",
        "Bring the photos, please.",
    ];
    for (b, c) in to_bob.iter().zip(to_carol) {
        demo.send(&mut alice, "Bob", b, false).await?;
        demo.send(&mut alice, "Carol", c, false).await?;
    }
    let mut pushed_seqs = BTreeSet::new();
    while pushed_seqs.len() < to_carol.len() {
        let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .map_err(|_| DemoError("no push within 10 s".into()))??
            .ok_or_else(|| DemoError("the relay closed Carol's stream".into()))?;
        if pushed_seqs.insert(delivery.seq) {
            demo.receive(&mut carol, &delivery.envelope, true)?;
        }
        carol.http.ack(&carol_cap, delivery.seq).await?;
    }
    subscription.close().await;
    // Whoever knows Bob's mailbox id (it is in his bundle) but not its read capability
    // fetches another, empty mailbox: the capability is what names it.
    let guessed = blindrelay::route::ReadCapability::generate(&mut demo.rng);
    let nothing = bob.http.fetch(&guessed, 0, MAX_FETCH_LIMIT).await?;
    demo.capabilities.insert(guessed.to_bytes(), "a guesser");
    ensure(
        nothing.envelopes.is_empty(),
        "a guessed capability reads nothing",
    )?;
    demo.poll(&mut bob, false).await?;
    let local = bob.client.one_time_prekeys_remaining()?;
    writeln!(
        demo.out,
        "Bob: his client consumed the one-time prekey Alice's handshake used ({local} of {POOL} left)"
    )?;

    // Bob restarts from his SQLite file.
    let Member {
        name,
        number,
        db: bob_db,
        client,
        http,
        contacts,
        mark,
        ..
    } = bob;
    drop(client);
    let mut client = Client::open(ClientStore::open(&bob_db)?)?;
    let mut sessions = 0;
    for peer in contacts.values() {
        sessions += client.session_count(peer)?;
    }
    bob = Member {
        name,
        number,
        db: bob_db,
        client,
        http,
        // Claimed bundles are not kept: replies need none.
        bundles: Bundles::default(),
        contacts,
        mark,
    };
    writeln!(
        demo.out,
        "Bob: restarted from {} ({sessions} session restored)",
        bob.db.display()
    )?;

    // Replies through pairwise mailboxes: no bundle, no directory.
    writeln!(demo.out, "\nreplies (pairwise mailboxes):")?;
    demo.send(&mut bob, "Alice", "Friday works. See you there.", false)
        .await?;
    demo.send(&mut bob, "Alice", "I'll book the table.", false)
        .await?;
    demo.send(&mut carol, "Alice", "Got all three, thanks!", false)
        .await?;
    demo.poll(&mut alice, false).await?;
    // Out of order: Bob's client gets Alice's next three in reverse.
    writeln!(demo.out, "out of order (Bob's batch delivered in reverse):")?;
    for text in [
        "Great, thank you!",
        "Table for two?",
        "Or three, Carol may come.",
    ] {
        demo.send(&mut alice, "Bob", text, false).await?;
    }
    demo.poll(&mut bob, true).await?;
    // Back and forth: the pairwise mailbox rotates at every change of direction.
    for round in 1..=3 {
        demo.send(&mut bob, "Alice", &format!("ping number {round}"), false)
            .await?;
        demo.poll(&mut alice, false).await?;
        demo.send(&mut alice, "Bob", &format!("pong number {round}"), false)
            .await?;
        demo.poll(&mut bob, false).await?;
    }

    // A one-way run: Carol writes five notes without an answer; her client sends the
    // 4th as a probe (spec §8.17), sealed to Alice's public mailbox. Alice is offline and
    // the relay restarts before she fetches.
    for i in 1..=5 {
        demo.send(
            &mut carol,
            "Alice",
            &format!("Carol's note number {i}"),
            false,
        )
        .await?;
    }
    let waiting = carol_notes_waiting(&demo.sent);
    let store = stop_relay(relay, running).await?;
    drop(store);
    let (relay, running, base) = start_relay(dir, open_store(&db)?).await?;
    let second_port = running.addr.port();
    for m in [&mut alice, &mut bob, &mut carol] {
        m.http = RelayClient::new(&base);
    }
    let again = alice
        .http
        .discovery()
        .await?
        .verify(&pinned, now(), &mut alice.mark)?;
    ensure(
        again.salt() == discovery.salt(),
        "the same salt after the restart",
    )?;
    ensure(
        alice_ledger.plan(&again, &alice_secret, &ids)?.is_empty(),
        "an unchanged address book sends no new lookup",
    )?;
    writeln!(
        demo.out,
        "\nrelay: stopped with {waiting} envelopes waiting, reopened {} on port {second_port} \
         (was {first_port}); its discovery parameters still verify with the pinned key",
        db.display()
    )?;
    let fetched = demo.poll(&mut alice, false).await?;
    ensure(fetched == waiting, "Alice fetches every waiting envelope")?;

    // Carol discovers Bob after the restart (registrations survived), claims his bundle
    // (his pool goes down again) and leaves him a message; Alice leaves him one too.
    let mut hasher = again.hasher()?;
    let ids = [hasher.contact_id(&normalize_lenient("+1 202 555 0102")?)?];
    let request = again
        .lookup_batch(&DiscoverySecret::generate(&mut demo.rng), &ids)?
        .into_iter()
        .next()
        .ok_or_else(|| DemoError("one contact makes one request".into()))?;
    let response = carol.http.lookup(&request).await?;
    let matches = again.match_response(&request, &response, &ids)?;
    let mailbox: [u8; 32] = matches
        .first()
        .and_then(|m| m.records.first())
        .and_then(|r| <[u8; 32]>::try_from(*r).ok())
        .ok_or_else(|| DemoError("Carol does not find Bob".into()))?;
    let bundle = carol.http.claim(mailbox).await?.verify(&mailbox, now())?;
    ensure(demo.name_of(bundle.identity())? == "Bob", "Carol finds Bob")?;
    carol
        .bundles
        .0
        .insert("Bob".into(), bundle.bundle().clone());
    bob_pool.push(bob.http.count(&bob.capability()?).await?.x25519);
    writeln!(
        demo.out,
        "relay: Bob's one-time prekey pool {} -> {} after Carol's claim",
        bob_pool.get(1).copied().unwrap_or(0),
        bob_pool.last().copied().unwrap_or(0)
    )?;
    demo.send(&mut carol, "Bob", "Bob, it's Carol: Friday, yes!", true)
        .await?;
    demo.send(&mut alice, "Bob", "Carol is coming too.", true)
        .await?;

    // The relay stops. What does it hold?
    let store = stop_relay(relay, running).await?;
    let tables = store.dump().await?;
    let mut files = relay_files(dir, "store open")?;
    drop(store);
    files.extend(relay_files(dir, "store closed")?);
    let log = blindrelay_relay::log::take_captured();

    let read = demo.delivered.len();
    let unread = demo.sent.iter().filter(|s| s.unread).count();
    let total = demo.sent.len();
    let sealed = demo.sent.iter().filter(|s| s.kind != "pairwise").count();
    let (out, sent, delivered, duplicates, capabilities, parties) = (
        demo.out,
        demo.sent,
        demo.delivered,
        demo.duplicates,
        demo.capabilities,
        demo.parties,
    );
    writeln!(
        out,
        "\n{total} messages sent ({sealed} sealed to public mailboxes: first messages and \
         probes; {} pairwise), {read} delivered, {unread} left unread for the dump; {:.1} s",
        total - sealed,
        started.elapsed().as_secs_f64()
    )?;

    writeln!(
        out,
        "\nWhat the relay holds (its whole database, as an operator could hand it over;\n\
         names in parentheses are the demo's annotation, the relay cannot know them):"
    )?;
    let mut labels: Vec<(String, [u8; 32])> = parties
        .iter()
        .map(|(n, _, mailbox)| (format!("{n}'s public mailbox"), *mailbox))
        .collect();
    let publics = labels.len();
    for (cap, who) in &capabilities {
        let mailbox = blindrelay::route::ReadCapability::from_bytes(*cap).mailbox();
        let party = parties.iter().any(|(n, _, _)| n == who);
        if party && !labels.iter().any(|(_, m)| *m == mailbox) {
            labels.push((format!("pairwise, {who}'s"), mailbox));
        }
    }
    view::describe(&tables, &labels, out)?;
    let lines = log.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    let sample = log
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"POST /v1/deposit"))
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    writeln!(out, "  relay log: {lines} lines, e.g. {sample:?}")?;

    let mut plaintexts: Vec<String> = sent.iter().map(|s| s.text.clone()).collect();
    plaintexts.dedup();
    let secrets = Secrets {
        plaintexts,
        numbers: PARTIES
            .iter()
            .map(|(_, n)| (*n).to_owned())
            .chain(ADDRESS_BOOK.iter().map(|n| (*n).to_owned()))
            .collect(),
        contact_ids,
        identities: parties
            .iter()
            .map(|(n, id, _)| ((*n).to_owned(), *id))
            .collect(),
        public_mailboxes: labels
            .iter()
            .take(publics)
            .zip(&parties)
            .map(|((_, mailbox), (n, _, _))| ((*n).to_owned(), *mailbox))
            .collect(),
        capabilities: capabilities.into_keys().collect(),
    };
    let evidence = Evidence { files, tables, log };
    let findings = view::check(&evidence, &secrets);
    let scanned: usize = evidence.files.iter().map(|(_, b)| b.len()).sum();
    let rows: usize = evidence.tables.iter().map(|t| t.rows.len()).sum();
    writeln!(
        out,
        "\nrelay-view check: scanned {} raw files ({scanned} B), {rows} rows and the log for \
         {} messages, {} phone numbers with their contact ids, {} identity keys and {} read \
         capabilities",
        evidence.files.len(),
        secrets.plaintexts.len(),
        secrets.numbers.len(),
        secrets.identities.len() * 2,
        secrets.capabilities.len()
    )?;
    if findings.is_empty() {
        writeln!(
            out,
            "relay-view check: PASSED: no plaintext, phone number, contact id, identity key \
             outside a published bundle, sender or read capability"
        )?;
    } else {
        for f in &findings {
            writeln!(out, "relay-view check: FAILED: {f}")?;
        }
    }
    Ok(Report {
        sent,
        delivered,
        duplicates,
        bob_pool,
        waiting_at_restart: waiting,
        ports: (first_port, second_port),
        secrets,
        evidence,
        findings,
    })
}

/// Carol's notes deposited since Alice last fetched: the last five messages.
fn carol_notes_waiting(sent: &[Sent]) -> usize {
    sent.iter()
        .rev()
        .take_while(|s| s.from == "Carol" && s.to == "Alice")
        .count()
}
