//! The demo's third part: a blind group (spec §15) through the real relay.
//!
//! 1. a fresh relay (SQLite) on 127.0.0.1; Alice, Bob, Carol and Dave publish 1:1 bundles;
//! 2. Bob and Carol send Alice their MLS key packages in ordinary 1:1 messages;
//! 3. Alice creates the group and adds them: her commit goes to `POST /v1/commit` with the
//!    epoch's commit-slot token, the invite (Welcome and ratchet tree) to each of them 1:1;
//! 4. the members talk in the epoch mailbox; Alice and Carol commit at once and the relay
//!    takes the first (Carol's gets `CommitSlotTaken`, a late message `EpochClosed`);
//! 5. Alice adds Dave and removes Carol; Carol can neither read nor find the next epoch;
//! 6. the relay stops, and its database files are searched for every member's identity
//!    key, MLS signature key and the group id: none is there.

use crate::{ensure, now, relay_files, start_relay, stop_relay, view, Context, DemoError};
use blindrelay::relay::{PublishRequest, MAX_FETCH_LIMIT};
use blindrelay::route::ReadCapability;
use blindrelay::IdentityPublicKey;
use blindrelay_client::{BundleSource, Client, OsRng, Outcome, SqliteStore as ClientStore};
use blindrelay_groups::{BlindGroup, Change, Member, Received};
use blindrelay_relay::store::sqlite::SqliteStore;
use blindrelay_relay::RelayClient;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

const NAMES: [&str; 4] = ["Alice", "Bob", "Carol", "Dave"];

#[derive(Default)]
struct Bundles(HashMap<String, blindrelay::PrekeyBundle>);

impl BundleSource for Bundles {
    fn bundle(
        &mut self,
        address: &str,
    ) -> Result<Option<blindrelay::PrekeyBundle>, blindrelay_client::Error> {
        Ok(self.0.get(address).cloned())
    }
}

struct Party {
    name: &'static str,
    client: Client<ClientStore>,
    http: RelayClient,
    bundles: Bundles,
    member: Member,
    group: Option<BlindGroup>,
    /// The seq after which the party has read its current epoch mailbox.
    cursor: u64,
}

impl Party {
    /// Sends `bytes` 1:1 to `to` (a claimed bundle) through the relay.
    async fn send_1to1(&mut self, to: &str, bytes: &[u8]) -> Result<(), DemoError> {
        let envelope = self
            .client
            .send(&mut OsRng, &mut self.bundles, to, bytes)
            .context(format!("{} encrypts for {to}", self.name))?;
        self.http.deposit(envelope).await?;
        Ok(())
    }

    /// Reads every 1:1 message waiting for the party.
    async fn read_1to1(&mut self) -> Result<Vec<(IdentityPublicKey, Vec<u8>)>, DemoError> {
        let mut out = Vec::new();
        loop {
            let caps = self.client.watched_mailboxes()?;
            let mut got = false;
            for cap in &caps {
                let page = self.http.fetch(cap, 0, MAX_FETCH_LIMIT).await?;
                let Some(last) = page.envelopes.last().map(|e| e.seq) else {
                    continue;
                };
                got = true;
                for e in page.envelopes {
                    if let Outcome::Delivered(r) =
                        self.client
                            .receive(&mut OsRng, &mut self.bundles, &e.envelope)?
                    {
                        out.push((r.sender, r.plaintext));
                    }
                }
                self.http.ack(cap, last).await?;
            }
            if !got {
                return Ok(out);
            }
        }
    }

    fn group(&mut self) -> Result<&mut BlindGroup, DemoError> {
        self.group
            .as_mut()
            .ok_or_else(|| DemoError(format!("{} is in no group", self.name)))
    }

    /// Fetches the party's current epoch mailbox and processes what is new, following
    /// commits into the next epoch's mailbox; returns what it received.
    async fn read_group(&mut self) -> Result<Vec<Received>, DemoError> {
        let mut out = Vec::new();
        loop {
            let cap: ReadCapability = self.group()?.capability();
            let page = self.http.fetch(&cap, self.cursor, MAX_FETCH_LIMIT).await?;
            if page.envelopes.is_empty() {
                return Ok(out);
            }
            for e in page.envelopes {
                self.cursor = e.seq;
                let epoch = self.group()?.epoch();
                let r = self
                    .group()?
                    .receive(&e.envelope, now())
                    .context(format!("{} reads the group", self.name))?;
                let moved = self.group()?.epoch() != epoch;
                let removed = r == Received::Removed;
                out.push(r);
                if removed {
                    return Ok(out);
                }
                if moved {
                    // Members never acknowledge group mailboxes (§15.6): a new epoch's
                    // mailbox is read from the start.
                    self.cursor = 0;
                    break;
                }
            }
        }
    }
}

fn describe(r: &Received, names: &HashMap<IdentityPublicKey, &'static str>) -> String {
    let name = |id: &IdentityPublicKey| names.get(id).copied().unwrap_or("?");
    match r {
        Received::Message { sender, plaintext } => {
            format!(
                "{:?} from {}",
                String::from_utf8_lossy(plaintext),
                name(sender)
            )
        }
        Received::Commit { committer, epoch } => {
            format!("{}'s commit, now epoch {epoch}", name(committer))
        }
        Received::OwnCommit { epoch } => format!("its own commit, now epoch {epoch}"),
        Received::Own => "its own message".into(),
        Received::Removed => "a commit removing it".into(),
    }
}

/// Each party in turn reads what is new in the group; every outcome is narrated.
async fn read_all(
    out: &mut impl Write,
    names: &HashMap<IdentityPublicKey, &'static str>,
    parties: &mut [&mut Party],
) -> Result<(), DemoError> {
    for p in parties.iter_mut() {
        for r in p.read_group().await? {
            writeln!(out, "  {} reads {}", p.name, describe(&r, names))?;
        }
    }
    Ok(())
}

/// Runs the group part in `dir/group` on a fresh relay.
///
/// # Errors
/// Any failure of the relay, a client, the protocol, or an outcome other than expected.
#[allow(clippy::too_many_lines)]
pub async fn run(dir: &Path, out: &mut impl Write) -> Result<(), DemoError> {
    writeln!(
        out,
        "\n== blind groups: an MLS group whose relay never sees who is in it (spec §15) =="
    )?;
    let dir = dir.join("group");
    std::fs::create_dir_all(&dir)?;
    let (relay, running, base) =
        start_relay(&dir, SqliteStore::open(&dir.join("relay.db"))?).await?;
    writeln!(out, "relay: listening on {base} (SQLite, a fresh database)")?;

    let mut parties = Vec::new();
    let mut names = HashMap::new();
    for name in NAMES {
        let path = dir.join(format!("{}.db", name.to_lowercase()));
        let mut client = Client::create(&mut OsRng, ClientStore::open(&path)?, now())?;
        let http = RelayClient::new(&base);
        let capability = client
            .public_capability()
            .ok_or_else(|| DemoError("no public capability".into()))?;
        let publication = client.publication(now(), now() + 7 * 24 * 3600)?;
        http.publish(&PublishRequest {
            capability,
            publication,
        })
        .await
        .context(format!("{name} publishes"))?;
        // The group member is the same identity as the 1:1 client (spec §15.2).
        let member = Member::with_certifier(|key| client.certify_group_key(key), &mut OsRng);
        names.insert(*client.identity(), name);
        parties.push(Party {
            name,
            client,
            http,
            bundles: Bundles::default(),
            member,
            group: None,
            cursor: 0,
        });
    }
    // Everyone claims everyone's bundle (in a real app: from contact discovery).
    let mailboxes: Vec<[u8; 32]> = parties.iter().map(|p| *p.client.mailbox()).collect();
    for p in &mut parties {
        for (i, m) in mailboxes.iter().enumerate() {
            let bundle = p.http.claim(*m).await?.verify(m, now())?;
            p.bundles.0.insert(
                NAMES.get(i).copied().unwrap_or("?").to_owned(),
                bundle.bundle().clone(),
            );
        }
    }
    writeln!(
        out,
        "Alice, Bob, Carol, Dave: 1:1 bundles published; each one's group member is the same \
         identity, certifying a per-group MLS key"
    )?;
    let [alice, bob, carol, dave] = parties.as_mut_slice() else {
        return Err(DemoError("four parties".into()));
    };

    // Key packages travel 1:1.
    for p in [&mut *bob, &mut *carol] {
        let kp = p.member.key_package(now())?;
        writeln!(
            out,
            "{} -> Alice (1:1): an MLS key package, {} bytes",
            p.name,
            kp.len()
        )?;
        p.send_1to1("Alice", &kp).await?;
    }
    let kps: Vec<Vec<u8>> = alice
        .read_1to1()
        .await?
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    ensure(kps.len() == 2, "Alice receives two key packages")?;

    // Alice creates the group and adds Bob and Carol.
    let mut group = alice.member.create_group(now())?;
    let first_mailbox = group.mailbox();
    let add = group.commit(
        &Change {
            add: kps,
            remove: vec![],
        },
        now(),
    )?;
    alice.group = Some(group);
    alice
        .http
        .commit(&add.request)
        .await
        .context("Alice's first commit")?;
    let got = alice.read_group().await?;
    ensure(
        got == [Received::OwnCommit { epoch: 1 }],
        "Alice's commit comes back as hers",
    )?;
    writeln!(
        out,
        "Alice: group created; her commit adding Bob and Carol ({} bytes) closed the slot of \
         epoch 0's mailbox {}; epoch 1's mailbox is {}",
        add.request.len(),
        view::short_hex(&first_mailbox),
        view::short_hex(&alice.group()?.mailbox())
    )?;
    let invite = add.invite.ok_or_else(|| DemoError("no invite".into()))?;
    for to in ["Bob", "Carol"] {
        alice.send_1to1(to, &invite).await?;
    }
    for p in [&mut *bob, &mut *carol] {
        let msgs = p.read_1to1().await?;
        let (_, inv) = msgs
            .into_iter()
            .find(|(_, b)| b.get(1) == Some(&0x0A))
            .ok_or_else(|| DemoError(format!("{} got no invite", p.name)))?;
        let g = p
            .member
            .join(&inv, now())
            .context(format!("{} joins", p.name))?;
        writeln!(
            out,
            "{}: joined from a {}-byte invite (1:1); members: {}",
            p.name,
            inv.len(),
            g.members()
                .iter()
                .map(|m| names.get(m).copied().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        p.group = Some(g);
    }

    // Talk.
    let hello = bob.group()?.send(b"Hi both, Bob here.")?;
    writeln!(
        out,
        "Bob -> group: a {}-byte group envelope to the epoch mailbox (the relay sees that, \
         and a padded length)",
        hello.len()
    )?;
    bob.http.deposit(hello).await?;
    read_all(out, &names, &mut [&mut *alice, &mut *carol, &mut *bob]).await?;

    // Alice and Carol commit at once: the relay takes the first.
    let a_update = alice.group()?.commit(&Change::default(), now())?;
    let c_update = carol.group()?.commit(&Change::default(), now())?;
    alice.http.commit(&a_update.request).await?;
    let refused = carol.http.commit(&c_update.request).await;
    ensure(
        refused
            .as_ref()
            .err()
            .and_then(blindrelay_relay::ClientError::code)
            == Some(812),
        "the second commit of an epoch is refused with CommitSlotTaken",
    )?;
    carol.group()?.commit_refused();
    let late = bob.group()?.send(b"(sent to the closed epoch)")?;
    let closed = bob.http.deposit(late).await;
    ensure(
        closed
            .as_ref()
            .err()
            .and_then(blindrelay_relay::ClientError::code)
            == Some(813),
        "a deposit to a closed epoch is refused with EpochClosed",
    )?;
    writeln!(
        out,
        "Alice and Carol commit updates at once: the relay keeps Alice's; Carol's gets \
         CommitSlotTaken (812), Bob's late message EpochClosed (813)"
    )?;
    read_all(out, &names, &mut [&mut *alice, &mut *bob, &mut *carol]).await?;

    // Alice adds Dave and removes Carol in one commit.
    let kp = dave.member.key_package(now())?;
    dave.send_1to1("Alice", &kp).await?;
    let kp = alice
        .read_1to1()
        .await?
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| DemoError("no key package from Dave".into()))?;
    let carol_id = *carol
        .group()?
        .members()
        .get(2)
        .ok_or_else(|| DemoError("Carol's leaf".into()))?;
    let carol_old_mailbox = carol.group()?.mailbox();
    let change = alice.group()?.commit(
        &Change {
            add: vec![kp],
            remove: vec![carol_id],
        },
        now(),
    )?;
    alice.http.commit(&change.request).await?;
    alice
        .send_1to1(
            "Dave",
            &change.invite.ok_or_else(|| DemoError("no invite".into()))?,
        )
        .await?;
    let inv = dave
        .read_1to1()
        .await?
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| DemoError("Dave got no invite".into()))?;
    read_all(out, &names, &mut [&mut *alice, &mut *bob, &mut *carol]).await?;
    dave.group = Some(dave.member.join(&inv, now())?);
    let secret = bob.group()?.send(b"Carol cannot read this.")?;
    let new_mailbox = bob.group()?.mailbox();
    bob.http.deposit(secret.clone()).await?;
    read_all(out, &names, &mut [&mut *alice, &mut *dave]).await?;
    ensure(
        carol.group()?.receive(&secret, now()) == Err(blindrelay::Error::GroupRemoved),
        "Carol, removed, reads nothing",
    )?;
    ensure(
        carol.group()?.mailbox() == carol_old_mailbox && carol_old_mailbox != new_mailbox,
        "Carol's last mailbox is not the new epoch's",
    )?;
    writeln!(
        out,
        "Carol: removed; the new epoch's mailbox {} is derived from a secret she does not \
         have, and her last capability opens only {}",
        view::short_hex(&new_mailbox),
        view::short_hex(&carol_old_mailbox)
    )?;

    // What the relay holds.
    let store = stop_relay(relay, running).await?;
    drop(store);
    let files = relay_files(&dir, "after the group")?;
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for p in [&*alice, &*bob, &*dave] {
        if let Some(g) = &p.group {
            needles.push(("the group id".into(), g.group_id().to_vec()));
            for k in g.signature_keys() {
                needles.push(("an MLS signature key".into(), k));
            }
        }
    }
    // Identity keys are public in the 1:1 bundles the relay serves; what must not be there
    // is anything that ties them to the group: the MLS keys they certify and the group id.
    let mut bytes_checked = 0;
    for (name, data) in &files {
        bytes_checked += data.len();
        for (what, needle) in &needles {
            ensure(
                !data.windows(needle.len()).any(|w| w == needle.as_slice()),
                format!("{what} is not in the relay's {name}"),
            )?;
        }
    }
    writeln!(
        out,
        "relay: stopped; its files ({bytes_checked} bytes) hold no MLS signature key \
         of a member and not the group id ({} needles searched)",
        needles.len()
    )?;
    Ok(())
}
