//! The demo's second part: contact discovery with suite `ch2` (spec §13, §14) through the
//! real relay and an **oracle in its own process**. The relay forwards blinded elements to
//! the oracle and never holds the OPRF key, so with its whole database it cannot test a
//! single phone number offline; the demo shows it trying.
//!
//! 1. starts the oracle (`relay_demo --serve-oracle`, a child process of this one) on
//!    127.0.0.1 with its own SQLite file and key file; the clients pin its key;
//! 2. starts a relay wired to it (`--oracle-url`, credential, oracle key): its discovery
//!    parameters are `ch2` and name the oracle at its key epoch;
//! 3. Bob and Carol each evaluate their own number through the relay (one OPRF round
//!    trip) and register the resulting `ch2` ids;
//! 4. Alice's client (`blindrelay-client`, SQLite) evaluates her address book in one
//!    round trip to the oracle, looks it up with its lookup ledger, and finds Bob and
//!    Carol; after a restart the unchanged book sends nothing, to the oracle or the relay;
//! 5. the relay tries what `ch1` allowed: it computes the `ch1` id of each number it
//!    wants to test (the salt is public) and searches its registry for it: nothing.

use crate::{ensure, now, Context, DemoError, ADDRESS_BOOK, PARTIES};
use blindrelay::codec::Encode;
use blindrelay::contact::{
    bucket_prefix, normalize_lenient, Ch2Id, ContactId, GenerationMark, MatchTag, OprfRequest,
    OprfResponse, VerifiedDiscovery, VerifiedOracle,
};
use blindrelay::relay::RegisterRequest;
use blindrelay::route::ReadCapability;
use blindrelay_client::{Ch2Ids, Client, SqliteStore as ClientStore};
use blindrelay_relay::oprf::{hex, parse_hex32, OracleLink};
use blindrelay_relay::oracle::store::SqliteOracleStore;
use blindrelay_relay::oracle::{oracle_with, RelayCredential};
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::store::Store;
use blindrelay_relay::{Clock, RelayClient};
use rand_core::{OsRng, RngCore};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

/// The argument that makes `relay_demo` serve the oracle instead of running the demo.
pub const SERVE_ORACLE: &str = "--serve-oracle";

/// The child-process side: serves an oracle for one relay credential (hex) in `dir` on
/// 127.0.0.1, prints `PORT ORACLE_KEY_HEX` on stdout, and stops when stdin closes (the
/// demo exiting, whatever the way).
///
/// # Errors
/// The oracle could not start.
pub async fn serve_oracle(dir: &Path, credential_hex: &str) -> Result<(), DemoError> {
    blindrelay_relay::log::set_enabled(false);
    let secret = parse_hex32(credential_hex)
        .ok_or_else(|| DemoError("the credential is not 64 hex digits".into()))?;
    let store = SqliteOracleStore::open(&dir.join("oracle.db"))?;
    let relays = vec![RelayCredential {
        name: "demo-relay".into(),
        secret,
        budget: 1_000_000,
    }];
    let oracle = Arc::new(oracle_with(store, Clock::System, dir, relays)?);
    let key = oracle.oracle_key();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = blindrelay_relay::oracle::start(oracle, listener)?;
    println!("{} {}", running.addr.port(), hex(&key));
    std::io::stdout().flush()?;
    // Block (off the runtime) until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await
    .map_err(|e| DemoError(e.to_string()))?;
    running.stop().await;
    Ok(())
}

/// The oracle child process; killed when dropped.
struct OracleProcess(Child);

impl Drop for OracleProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A party of this part: its number, its account (a read capability) and its view of the
/// relay's parameters.
struct Party {
    name: &'static str,
    number: &'static str,
    account: ReadCapability,
}

/// Runs the `ch2` part with the oracle served by `exe --serve-oracle` (this very binary).
///
/// # Errors
/// Any step that fails, or a check that does not hold.
pub async fn run(dir: &Path, out: &mut impl Write, exe: &Path) -> Result<(), DemoError> {
    writeln!(
        out,
        "\n== contact discovery, suite ch2: an oracle the relay cannot replace =="
    )?;
    let odir = dir.join("oracle");
    let rdir = dir.join("relay-ch2");
    std::fs::create_dir_all(&odir)?;
    std::fs::create_dir_all(&rdir)?;

    // 1. The oracle, in its own process.
    let mut credential = [0u8; 32];
    OsRng.fill_bytes(&mut credential);
    let mut child = Command::new(exe)
        .arg(SERVE_ORACLE)
        .arg(&odir)
        .arg(hex(&credential))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the oracle process")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| DemoError("the oracle's stdout".into()))?;
    let oracle = OracleProcess(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the oracle's port")?;
    let mut words = line.split_whitespace();
    let port: u16 = words
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| DemoError(format!("the oracle printed {line:?}")))?;
    let oracle_key = words
        .next()
        .and_then(parse_hex32)
        .ok_or_else(|| DemoError(format!("the oracle printed {line:?}")))?;
    let oracle_url = format!("http://127.0.0.1:{port}");
    writeln!(
        out,
        "oracle: process {} listening on {oracle_url}, oracle key {} (clients pin it)",
        oracle.0.id(),
        crate::view::short_hex(&oracle_key)
    )?;

    // 2. A relay wired to it.
    let store = SqliteStore::open(&rdir.join("relay.db"))?;
    let relay = blindrelay_relay::relay_with(store, Clock::System, &rdir)?
        .with_oracle(OracleLink::new(&oracle_url, credential, oracle_key).map_err(DemoError)?);
    let relay_key = relay.discovery.relay_key();
    let relay = Arc::new(relay);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = blindrelay_relay::start(Arc::clone(&relay), listener)?;
    let http = RelayClient::new(&format!("http://{}", running.addr));
    let mut mark = GenerationMark::new();
    let discovery = http
        .discovery()
        .await?
        .verify(&relay_key, now(), &mut mark)?;
    let binding = discovery
        .params()
        .oracle()
        .ok_or_else(|| DemoError("the relay's parameters are not ch2".into()))?;
    ensure(
        binding.oracle_key == oracle_key,
        "the relay names the pinned oracle",
    )?;
    let verified = http.oracle_parameters().await?.verify(&oracle_key, now())?;
    writeln!(
        out,
        "relay: ch2 parameters name the oracle at key epoch {} (salt generation {}); the \
         oracle's parameters verify under the pinned key",
        binding.key_epoch,
        discovery.params().salt_generation()
    )?;

    // 3. Bob and Carol register their ch2 ids.
    let mut parties = Vec::new();
    for (name, number) in PARTIES {
        parties.push(Party {
            name,
            number,
            account: ReadCapability::generate(&mut OsRng),
        });
    }
    let mut hasher = discovery.hasher()?;
    for p in parties.iter().skip(1) {
        let ch1 = hasher.contact_id(&normalize_lenient(p.number)?)?;
        let (ch2, _) = evaluate(&http, &verified, &discovery, &p.account, &[ch1]).await?;
        let own = ch2
            .first()
            .ok_or_else(|| DemoError("one id evaluated".into()))?;
        http.register(&RegisterRequest {
            capability: ReadCapability::from_bytes(p.account.to_bytes()),
            registration: discovery.register_discoverable(own, &p.account.mailbox())?,
        })
        .await
        .context(format!("{} registers", p.name))?;
    }
    writeln!(out, "clients: Bob and Carol evaluated their numbers through the relay and registered their ch2 ids")?;

    // 4. Alice's lookup: one round trip to the oracle, then a ledger batch.
    let alice = parties.first().ok_or_else(|| DemoError("Alice".into()))?;
    let t = Instant::now();
    let mut ch1_ids = Vec::new();
    for number in ADDRESS_BOOK {
        ch1_ids.push(hasher.contact_id(&normalize_lenient(number)?)?);
    }
    let hashing = t.elapsed();
    let t = Instant::now();
    // Alice's client keeps its discovery state and her ch2 ids in its SQLite file.
    let alice_db = dir.join("alice-ch2.db");
    let mut client = Client::create(&mut OsRng, ClientStore::open(&alice_db)?, now())?;
    let params = http.discovery().await?;
    let alice_view = client.verify_discovery(&mut OsRng, params, &relay_key, now())?;
    let (ids, oprf_bytes) = ch2_ids(
        &mut client,
        &http,
        &verified,
        &alice_view,
        &alice.account,
        &ch1_ids,
    )
    .await?;
    let requests = client.plan_lookup(&alice_view, &relay_key, &ids)?;
    let mut exchanges = Vec::new();
    let mut bytes = 0usize;
    for request in requests {
        let response = http.lookup(&request).await?;
        bytes += request.to_bytes().len() + response.to_bytes().len();
        exchanges.push((request, response));
    }
    let pairs: Vec<_> = exchanges.iter().map(|(q, r)| (q, r)).collect();
    let matches = alice_view.match_responses(&pairs, &ids)?;
    let found: Vec<&str> = matches
        .iter()
        .filter_map(|m| {
            let record = m.records.first()?;
            parties
                .iter()
                .find(|p| p.account.mailbox().as_slice() == *record)
                .map(|p| p.name)
        })
        .collect();
    ensure(
        found == ["Bob", "Carol"],
        format!("Alice finds Bob and Carol, found {found:?}"),
    )?;
    writeln!(
        out,
        "Alice: {} numbers -> ch1 ids ({:.0} ms of Argon2id, cached per salt) -> one oracle round \
         trip through the relay ({oprf_bytes} bytes) -> ch2 ids -> {} lookup request(s) \
         ({bytes} bytes) ({:.0} ms): found {}",
        ADDRESS_BOOK.len(),
        hashing.as_secs_f64() * 1e3,
        exchanges.len(),
        t.elapsed().as_secs_f64() * 1e3,
        found.join(" and ")
    )?;
    // Alice's app restarts: her ch2 ids and ledger come back from the file, so the
    // unchanged book costs no oracle request and no new lookup.
    drop(client);
    let mut client = Client::open(ClientStore::open(&alice_db)?)?;
    let alice_view =
        client.verify_discovery(&mut OsRng, http.discovery().await?, &relay_key, now())?;
    let (again, oprf_again) = ch2_ids(
        &mut client,
        &http,
        &verified,
        &alice_view,
        &alice.account,
        &ch1_ids,
    )
    .await?;
    ensure(
        oprf_again == 0 && again == ids,
        "after a restart the unchanged book sends the oracle nothing",
    )?;
    ensure(
        client
            .plan_lookup(&alice_view, &relay_key, &again)?
            .is_empty(),
        "an unchanged address book sends no new lookup",
    )?;
    writeln!(
        out,
        "Alice: restarted; her {} ch2 ids and lookup ledger come back from her SQLite file: \
         0 bytes to the oracle, no new lookup",
        again.len()
    )?;

    // 5. The relay tries to test numbers offline, as ch1 would let it.
    let b = discovery.params().bucket_bits();
    let generation = discovery.params().salt_generation();
    let mut tested = 0;
    for number in ADDRESS_BOOK.iter().chain(PARTIES.iter().map(|(_, n)| n)) {
        let guess = hasher.contact_id(&normalize_lenient(number)?)?;
        let entries = relay
            .store
            .bucket(generation, bucket_prefix(&guess, b))
            .await?;
        let tag = MatchTag::of(&guess).0;
        ensure(
            entries.iter().all(|e| e.tag != tag),
            format!("the relay's registry holds no ch1 tag of {number}"),
        )?;
        tested += 1;
    }
    let ch2_bob = ids
        .first()
        .ok_or_else(|| DemoError("Bob's ch2 id".into()))?;
    let stored = relay
        .store
        .bucket(generation, bucket_prefix(ch2_bob, b))
        .await?;
    ensure(
        stored.iter().any(|e| e.tag == MatchTag::of(ch2_bob).0),
        "Bob's ch2 tag is what the relay stores",
    )?;
    writeln!(
        out,
        "relay: with its whole database and the public salt it computed the ch1 id of {tested} \
         numbers and found none of them: without the oracle key it cannot test a number"
    )?;
    running.stop().await;
    drop(oracle);
    writeln!(out, "oracle: stopped")?;
    Ok(())
}

/// One OPRF round trip through the relay for `contacts` (their `ch1` ids), finalized into
/// `ch2` ids under the pinned oracle key.
async fn evaluate(
    http: &RelayClient,
    oracle: &VerifiedOracle,
    discovery: &VerifiedDiscovery,
    account: &ReadCapability,
    contacts: &[ContactId],
) -> Result<(Vec<Ch2Id>, usize), DemoError> {
    let (state, request) = oracle.request(&mut OsRng, discovery, contacts)?;
    let response = http.oprf(account, &request).await?;
    Ok((
        oracle.finalize(state, &response)?,
        oprf_bytes(&request, &response),
    ))
}

/// The bytes of one OPRF round trip on the wire: the relay wrapper adds 34 bytes (header
/// and capability) to the request.
fn oprf_bytes(request: &OprfRequest, response: &OprfResponse) -> usize {
    34 + request.to_bytes().len() + response.to_bytes().len()
}

/// The `ch2` ids of `contacts` through the client's store ([`Client::ch2_ids`]): only
/// contacts it holds no id for go to the oracle. Returns the ids and the OPRF bytes sent
/// and received (0 when every id was kept).
async fn ch2_ids(
    client: &mut Client<ClientStore>,
    http: &RelayClient,
    oracle: &VerifiedOracle,
    discovery: &VerifiedDiscovery,
    account: &ReadCapability,
    contacts: &[ContactId],
) -> Result<(Vec<Ch2Id>, usize), DemoError> {
    let mut bytes = 0;
    loop {
        match client.ch2_ids(&mut OsRng, discovery, oracle, contacts)? {
            Ch2Ids::Known(ids) => return Ok((ids, bytes)),
            Ch2Ids::Evaluate { request, pending } => {
                let response = http.oprf(account, &request).await?;
                bytes += oprf_bytes(&request, &response);
                client.finish_ch2_ids(pending, &response)?;
            }
        }
    }
}
