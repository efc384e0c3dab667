//! The SQLite store (rusqlite with its bundled SQLite): WAL journal, `synchronous = FULL`
//! (a commit is on disk when `COMMIT` returns), one `BEGIN IMMEDIATE` transaction per
//! step, schema versioned with `PRAGMA user_version`.

use super::{
    DiscoveryRecord, LocalRecord, PeerRecord, Route, SignedPrekeyRecord, Store, StoreTx,
    KEM_SEED_LEN, MAX_DELIVERED_DIGESTS,
};
use crate::Error;
use blindrelay::route::ReadCapability;
use blindrelay::IdentityPublicKey;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use zeroize::Zeroizing;

/// The schema version this code writes (`PRAGMA user_version`).
///
/// Migration rule: a new file gets schema 1 and then every migration in order; a file at
/// an older version gets the migrations after its version, in one transaction with the
/// version bump; a file at a newer version is refused. History: 1, the first schema;
/// 2, the public mailbox's read capability (`local.public_capability`, `NULL` for a
/// party created at schema 1) and the mailbox index (`mailboxes`); 3, the
/// contact-discovery state per pinned relay key (`discovery`, empty after migration);
/// 4, the `ch2` ids per oracle key and key epoch (`ch2_ids`, empty after migration).
pub const SCHEMA_VERSION: u32 = 4;

const SCHEMA_V1: &str = "
CREATE TABLE local (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    identity_seed BLOB NOT NULL,
    sealing_secret BLOB NOT NULL,
    sealing_created_at INTEGER NOT NULL,
    previous_sealing_secret BLOB,
    previous_superseded_at INTEGER,
    mailbox BLOB NOT NULL,
    storage_key BLOB NOT NULL
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE peers (
    identity BLOB PRIMARY KEY,
    address TEXT UNIQUE,
    mailbox BLOB,
    sealing_key BLOB,
    high_water INTEGER NOT NULL,
    reset_pending INTEGER NOT NULL,
    reset_signed_prekey INTEGER,
    acked_sealing_key BLOB
);
CREATE TABLE sessions (
    peer BLOB NOT NULL,
    position INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (peer, position)
);
CREATE TABLE signed_prekeys (
    id INTEGER PRIMARY KEY,
    secret BLOB NOT NULL,
    kem_id INTEGER NOT NULL UNIQUE,
    kem_secret BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    superseded_at INTEGER
);
CREATE TABLE one_time_prekeys (id INTEGER PRIMARY KEY, secret BLOB NOT NULL);
CREATE TABLE one_time_kem_prekeys (id INTEGER PRIMARY KEY, secret BLOB NOT NULL);
CREATE TABLE replay (
    signed_prekey_id INTEGER NOT NULL,
    ephemeral BLOB NOT NULL,
    peer BLOB NOT NULL,
    PRIMARY KEY (signed_prekey_id, ephemeral)
);
CREATE TABLE delivered (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE);
";

/// Schema 1 → 2: the public mailbox's read capability and the mailbox index (pairwise
/// mailbox id → its capability and the peer whose session watches it). The index of a
/// migrated file is empty; [`Client::open`](crate::Client::open) rebuilds it.
const MIGRATE_V2: &str = "
ALTER TABLE local ADD COLUMN public_capability BLOB;
CREATE TABLE mailboxes (
    mailbox BLOB PRIMARY KEY,
    capability BLOB NOT NULL,
    peer BLOB NOT NULL,
    rank INTEGER NOT NULL
);
CREATE INDEX mailboxes_by_peer ON mailboxes (peer, rank);
";

/// Schema 2 → 3: the contact-discovery state per pinned relay key (spec §9.6.1, §9.7.1):
/// discovery secret, generation mark, lookup ledger. A migrated file has none: the first
/// verification under each relay key starts a fresh mark and secret.
const MIGRATE_V3: &str = "
CREATE TABLE discovery (
    relay_key BLOB PRIMARY KEY,
    secret BLOB NOT NULL,
    mark BLOB NOT NULL,
    ledger BLOB
);
";

/// Schema 3 → 4: the `ch2` ids a client evaluated through an oracle, per oracle key and
/// key epoch (spec §13.4), so an unchanged address book costs no oracle quota after a
/// restart. A migrated file has none: the next lookup evaluates its contacts once.
const MIGRATE_V4: &str = "
CREATE TABLE ch2_ids (
    oracle_key BLOB NOT NULL,
    key_epoch INTEGER NOT NULL,
    ch1_id BLOB NOT NULL,
    ch2_id BLOB NOT NULL,
    PRIMARY KEY (oracle_key, key_epoch, ch1_id)
) WITHOUT ROWID;
";

/// The migrations, in order: `MIGRATIONS[i]` brings a file from version `i + 1` to `i + 2`.
const MIGRATIONS: &[&str] = &[MIGRATE_V2, MIGRATE_V3, MIGRATE_V4];

/// Every table, for [`SqliteStore::dump`].
const TABLES: &[&str] = &[
    "local",
    "counters",
    "peers",
    "sessions",
    "signed_prekeys",
    "one_time_prekeys",
    "one_time_kem_prekeys",
    "replay",
    "delivered",
    "mailboxes",
    "discovery",
    "ch2_ids",
];

/// A [`Store`] in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, switches it to WAL with
    /// `synchronous = FULL` and brings its schema to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite fails, or if the file's schema is newer than this code.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory database (no durability; for tests).
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite fails.
    pub fn open_in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, Error> {
        // journal_mode answers with a row.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Storage(format!(
                "schema version {version} is newer than this code ({SCHEMA_VERSION})"
            )));
        }
        if version < SCHEMA_VERSION {
            if version == 0 {
                tx.execute_batch(SCHEMA_V1)?;
            }
            let from = usize::try_from(version.max(1) - 1)
                .map_err(|_| Error::Storage("schema version".into()))?;
            for step in MIGRATIONS.iter().skip(from) {
                tx.execute_batch(step)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        tx.commit()?;
        Ok(Self { conn })
    }

    /// Every row of every table as text (hex for blobs), table by table in a fixed order.
    /// It includes secrets: for tests that check a failed step wrote nothing.
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite fails.
    pub fn dump(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for table in TABLES {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut line = format!("{table}:");
                for i in 0..n {
                    let v: rusqlite::types::Value = row.get(i)?;
                    line.push_str(&match v {
                        rusqlite::types::Value::Null => " null".to_string(),
                        rusqlite::types::Value::Integer(x) => format!(" {x}"),
                        rusqlite::types::Value::Real(x) => format!(" {x}"),
                        rusqlite::types::Value::Text(t) => format!(" {t:?}"),
                        rusqlite::types::Value::Blob(b) => {
                            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                            format!(" x{hex}")
                        }
                    });
                }
                out.push(line);
            }
        }
        Ok(out)
    }

    /// Begins a transaction and drops it without committing: what a process killed in the
    /// middle of a step leaves behind. `f` may write through the transaction. For tests.
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite fails; `f`'s error.
    pub fn abandon_transaction<F>(&mut self, f: F) -> Result<(), Error>
    where
        F: FnOnce(&mut SqliteTx<'_>) -> Result<(), Error>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut t = SqliteTx { tx };
        f(&mut t)?;
        drop(t); // rusqlite rolls back on drop
        Ok(())
    }
}

/// A transaction of a [`SqliteStore`].
#[derive(Debug)]
pub struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn transaction<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut SqliteTx<'_>) -> Result<T, Error>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut t = SqliteTx { tx };
        let out = f(&mut t)?;
        t.tx.commit()?;
        Ok(out)
    }
}

fn array<const N: usize>(v: Vec<u8>, what: &'static str) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(v).map_err(|_| Error::Storage(format!("corrupt {what}")))
}

fn secret<const N: usize>(v: Vec<u8>, what: &'static str) -> Result<Zeroizing<[u8; N]>, Error> {
    let v = Zeroizing::new(v);
    let mut out = Zeroizing::new([0u8; N]);
    if v.len() != N {
        return Err(Error::Storage(format!("corrupt {what}")));
    }
    out.copy_from_slice(&v);
    Ok(out)
}

fn identity(v: Vec<u8>) -> Result<IdentityPublicKey, Error> {
    let a: [u8; 64] = array(v, "identity")?;
    let (s, g) = a.split_at(32);
    Ok(IdentityPublicKey {
        signing: array(s.to_vec(), "identity")?,
        agreement: array(g.to_vec(), "identity")?,
    })
}

fn to_i64(x: u64) -> Result<i64, Error> {
    i64::try_from(x).map_err(|_| Error::ApiMisuse("value above i64::MAX"))
}

fn to_u64(x: i64) -> Result<u64, Error> {
    u64::try_from(x).map_err(|_| Error::Storage("negative counter".into()))
}

type LocalRow = (
    Vec<u8>,
    Vec<u8>,
    i64,
    Option<Vec<u8>>,
    Option<i64>,
    Vec<u8>,
    Vec<u8>,
    Option<Vec<u8>>,
);
type PeerRow = (
    Vec<u8>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    i64,
    bool,
    Option<u32>,
    Option<Vec<u8>>,
);
type SpkRow = (u32, Vec<u8>, u32, Vec<u8>, i64, Option<i64>);
type DiscoveryRow = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

impl SqliteTx<'_> {
    fn peer_where(
        &mut self,
        clause: &str,
        key: &dyn rusqlite::ToSql,
    ) -> Result<Option<PeerRecord>, Error> {
        let row: Option<PeerRow> = self
            .tx
            .query_row(
                &format!(
                    "SELECT identity, address, mailbox, sealing_key, high_water, reset_pending, \
                     reset_signed_prekey, acked_sealing_key FROM peers WHERE {clause} = ?1"
                ),
                [key],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, address, mailbox, sealing, hw, pending, reset_spk, acked)) = row else {
            return Ok(None);
        };
        let route = match (mailbox, sealing) {
            (Some(m), Some(s)) => Some(Route {
                mailbox: array(m, "mailbox")?,
                sealing_key: array(s, "sealing key")?,
            }),
            _ => None,
        };
        Ok(Some(PeerRecord {
            identity: identity(id)?,
            address,
            route,
            high_water: to_u64(hw)?,
            reset_pending: pending,
            reset_signed_prekey: reset_spk,
            acked_sealing_key: acked.map(|a| array(a, "sealing key")).transpose()?,
        }))
    }

    fn spk_where(&mut self, clause: &str, id: u32) -> Result<Option<SignedPrekeyRecord>, Error> {
        let row: Option<SpkRow> = self
            .tx
            .query_row(
                &format!(
                    "SELECT id, secret, kem_id, kem_secret, created_at, superseded_at \
                     FROM signed_prekeys WHERE {clause} = ?1"
                ),
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(spk_record).transpose()
    }
}

fn spk_record(row: SpkRow) -> Result<SignedPrekeyRecord, Error> {
    let (id, s, kem_id, k, created, superseded) = row;
    Ok(SignedPrekeyRecord {
        id,
        secret: secret(s, "signed prekey")?,
        kem_id,
        kem_secret: secret(k, "kem prekey")?,
        created_at: to_u64(created)?,
        superseded_at: superseded.map(to_u64).transpose()?,
    })
}

impl StoreTx for SqliteTx<'_> {
    fn local(&mut self) -> Result<Option<LocalRecord>, Error> {
        let row: Option<LocalRow> = self
            .tx
            .query_row(
                "SELECT identity_seed, sealing_secret, sealing_created_at, \
                 previous_sealing_secret, previous_superseded_at, mailbox, storage_key, \
                 public_capability FROM local",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((i, s, created, prev, prev_at, m, k, cap)) = row else {
            return Ok(None);
        };
        let previous_sealing = match (prev, prev_at) {
            (Some(p), Some(at)) => Some((secret(p, "previous sealing secret")?, to_u64(at)?)),
            _ => None,
        };
        Ok(Some(LocalRecord {
            identity_seed: secret(i, "identity seed")?,
            sealing_secret: secret(s, "sealing secret")?,
            sealing_created_at: to_u64(created)?,
            previous_sealing,
            mailbox: array(m, "mailbox")?,
            public_capability: cap.map(|c| secret(c, "public capability")).transpose()?,
            storage_key: secret(k, "storage key")?,
        }))
    }
    fn put_local(&mut self, r: &LocalRecord) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO local (id, identity_seed, sealing_secret, sealing_created_at, \
             previous_sealing_secret, previous_superseded_at, mailbox, storage_key, \
             public_capability) VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &r.identity_seed[..],
                &r.sealing_secret[..],
                to_i64(r.sealing_created_at)?,
                r.previous_sealing.as_ref().map(|(s, _)| s.to_vec()),
                r.previous_sealing
                    .as_ref()
                    .map(|(_, at)| to_i64(*at))
                    .transpose()?,
                &r.mailbox[..],
                &r.storage_key[..],
                r.public_capability.as_ref().map(|c| &c[..])
            ],
        )?;
        Ok(())
    }
    fn allocate_prekey_id(&mut self) -> Result<u32, Error> {
        let current: Option<u32> = self
            .tx
            .query_row(
                "SELECT value FROM counters WHERE name = 'prekey_id'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let id = current
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(Error::Storage("prekey ids exhausted".into()))?;
        self.tx.execute(
            "INSERT OR REPLACE INTO counters (name, value) VALUES ('prekey_id', ?1)",
            [id],
        )?;
        Ok(id)
    }

    fn skip_prekey_ids(&mut self, by: u32) -> Result<(), Error> {
        let current: Option<u32> = self
            .tx
            .query_row(
                "SELECT value FROM counters WHERE name = 'prekey_id'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let id = current
            .unwrap_or(0)
            .checked_add(by)
            .ok_or(Error::Storage("prekey ids exhausted".into()))?;
        self.tx.execute(
            "INSERT OR REPLACE INTO counters (name, value) VALUES ('prekey_id', ?1)",
            [id],
        )?;
        Ok(())
    }

    fn peer(&mut self, identity: &IdentityPublicKey) -> Result<Option<PeerRecord>, Error> {
        self.peer_where("identity", &identity.to_array().to_vec())
    }
    fn peer_by_address(&mut self, address: &str) -> Result<Option<PeerRecord>, Error> {
        self.peer_where("address", &address)
    }
    fn peers(&mut self) -> Result<Vec<PeerRecord>, Error> {
        let ids: Vec<Vec<u8>> = {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT identity FROM peers ORDER BY 1")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.peer_where("identity", &id)? {
                out.push(p);
            }
        }
        Ok(out)
    }
    fn put_peer(&mut self, r: &PeerRecord) -> Result<(), Error> {
        let id = r.identity.to_array();
        if let Some(address) = &r.address {
            self.tx.execute(
                "UPDATE peers SET address = NULL WHERE address = ?1 AND identity != ?2",
                params![address, &id[..]],
            )?;
        }
        self.tx.execute(
            "INSERT OR REPLACE INTO peers \
             (identity, address, mailbox, sealing_key, high_water, reset_pending, \
             reset_signed_prekey, acked_sealing_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &id[..],
                r.address,
                r.route.map(|x| x.mailbox.to_vec()),
                r.route.map(|x| x.sealing_key.to_vec()),
                to_i64(r.high_water)?,
                r.reset_pending,
                r.reset_signed_prekey,
                r.acked_sealing_key.map(|k| k.to_vec())
            ],
        )?;
        Ok(())
    }

    fn sessions(&mut self, peer: &IdentityPublicKey) -> Result<Vec<Vec<u8>>, Error> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT sealed FROM sessions WHERE peer = ?1 ORDER BY position")?;
        let rows = stmt.query_map([&peer.to_array()[..]], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<Vec<u8>>, _>>()?)
    }
    fn put_sessions(&mut self, peer: &IdentityPublicKey, sealed: &[Vec<u8>]) -> Result<(), Error> {
        let id = peer.to_array();
        self.tx
            .execute("DELETE FROM sessions WHERE peer = ?1", [&id[..]])?;
        let mut stmt = self
            .tx
            .prepare_cached("INSERT INTO sessions (peer, position, sealed) VALUES (?1, ?2, ?3)")?;
        for (pos, s) in sealed.iter().enumerate() {
            let pos = i64::try_from(pos).map_err(|_| Error::ApiMisuse("too many sessions"))?;
            stmt.execute(params![&id[..], pos, s])?;
        }
        Ok(())
    }

    fn signed_prekey(&mut self, id: u32) -> Result<Option<SignedPrekeyRecord>, Error> {
        self.spk_where("id", id)
    }
    fn signed_prekey_by_kem_id(
        &mut self,
        kem_id: u32,
    ) -> Result<Option<SignedPrekeyRecord>, Error> {
        self.spk_where("kem_id", kem_id)
    }
    fn signed_prekeys(&mut self) -> Result<Vec<SignedPrekeyRecord>, Error> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, secret, kem_id, kem_secret, created_at, superseded_at \
             FROM signed_prekeys ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let rows: Vec<SpkRow> = rows.collect::<Result<_, _>>()?;
        rows.into_iter().map(spk_record).collect()
    }
    fn put_signed_prekey(&mut self, r: &SignedPrekeyRecord) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO signed_prekeys \
             (id, secret, kem_id, kem_secret, created_at, superseded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.id,
                &r.secret[..],
                r.kem_id,
                &r.kem_secret[..],
                to_i64(r.created_at)?,
                r.superseded_at.map(to_i64).transpose()?
            ],
        )?;
        Ok(())
    }
    fn delete_signed_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.tx
            .execute("DELETE FROM signed_prekeys WHERE id = ?1", [id])?;
        self.tx
            .execute("DELETE FROM replay WHERE signed_prekey_id = ?1", [id])?;
        Ok(())
    }

    fn one_time_prekey(&mut self, id: u32) -> Result<Option<Zeroizing<[u8; 32]>>, Error> {
        let v: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT secret FROM one_time_prekeys WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        v.map(|v| secret(v, "one-time prekey")).transpose()
    }
    fn put_one_time_prekey(&mut self, id: u32, s: &[u8; 32]) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO one_time_prekeys (id, secret) VALUES (?1, ?2)",
            params![id, &s[..]],
        )?;
        Ok(())
    }
    fn delete_one_time_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.tx
            .execute("DELETE FROM one_time_prekeys WHERE id = ?1", [id])?;
        Ok(())
    }
    fn delete_all_one_time_prekeys(&mut self) -> Result<(), Error> {
        self.tx
            .execute_batch("DELETE FROM one_time_prekeys; DELETE FROM one_time_kem_prekeys;")?;
        Ok(())
    }
    fn one_time_prekey_count(&mut self) -> Result<u64, Error> {
        let n: i64 = self
            .tx
            .query_row("SELECT COUNT(*) FROM one_time_prekeys", [], |r| r.get(0))?;
        to_u64(n)
    }

    fn one_time_kem_prekey(
        &mut self,
        id: u32,
    ) -> Result<Option<Zeroizing<[u8; KEM_SEED_LEN]>>, Error> {
        let v: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT secret FROM one_time_kem_prekeys WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        v.map(|v| secret(v, "one-time kem prekey")).transpose()
    }
    fn put_one_time_kem_prekey(&mut self, id: u32, s: &[u8; KEM_SEED_LEN]) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO one_time_kem_prekeys (id, secret) VALUES (?1, ?2)",
            params![id, &s[..]],
        )?;
        Ok(())
    }
    fn delete_one_time_kem_prekey(&mut self, id: u32) -> Result<(), Error> {
        self.tx
            .execute("DELETE FROM one_time_kem_prekeys WHERE id = ?1", [id])?;
        Ok(())
    }
    fn one_time_kem_prekey_count(&mut self) -> Result<u64, Error> {
        let n: i64 = self
            .tx
            .query_row("SELECT COUNT(*) FROM one_time_kem_prekeys", [], |r| {
                r.get(0)
            })?;
        to_u64(n)
    }

    fn replay(
        &mut self,
        spk: u32,
        ephemeral: &[u8; 32],
    ) -> Result<Option<IdentityPublicKey>, Error> {
        let v: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT peer FROM replay WHERE signed_prekey_id = ?1 AND ephemeral = ?2",
                params![spk, &ephemeral[..]],
                |r| r.get(0),
            )
            .optional()?;
        v.map(identity).transpose()
    }
    fn put_replay(
        &mut self,
        spk: u32,
        ephemeral: &[u8; 32],
        peer: &IdentityPublicKey,
    ) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO replay (signed_prekey_id, ephemeral, peer) VALUES (?1, ?2, ?3)",
            params![spk, &ephemeral[..], &peer.to_array()[..]],
        )?;
        Ok(())
    }
    fn replay_count(&mut self, spk: u32) -> Result<u64, Error> {
        let n: i64 = self.tx.query_row(
            "SELECT COUNT(*) FROM replay WHERE signed_prekey_id = ?1",
            [spk],
            |r| r.get(0),
        )?;
        to_u64(n)
    }

    fn delivered(&mut self, digest: &[u8; 32]) -> Result<bool, Error> {
        let v: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM delivered WHERE digest = ?1",
                [&digest[..]],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.is_some())
    }
    fn put_delivered(&mut self, digest: &[u8; 32]) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR IGNORE INTO delivered (digest) VALUES (?1)",
            [&digest[..]],
        )?;
        let last = self.tx.last_insert_rowid();
        self.tx.execute(
            "DELETE FROM delivered WHERE id <= ?1",
            [last.saturating_sub(to_i64(MAX_DELIVERED_DIGESTS)?)],
        )?;
        Ok(())
    }

    fn mailbox_peer(&mut self, mailbox: &[u8; 32]) -> Result<Option<IdentityPublicKey>, Error> {
        let v: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT peer FROM mailboxes WHERE mailbox = ?1",
                [&mailbox[..]],
                |r| r.get(0),
            )
            .optional()?;
        v.map(identity).transpose()
    }
    fn put_mailboxes(
        &mut self,
        peer: &IdentityPublicKey,
        capabilities: &[ReadCapability],
    ) -> Result<(), Error> {
        let id = peer.to_array();
        self.tx
            .prepare_cached("DELETE FROM mailboxes WHERE peer = ?1")?
            .execute([&id[..]])?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO mailboxes (mailbox, capability, peer, rank) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (rank, cap) in capabilities.iter().enumerate() {
            let rank = i64::try_from(rank).map_err(|_| Error::ApiMisuse("too many mailboxes"))?;
            let bytes = Zeroizing::new(cap.to_bytes());
            stmt.execute(params![&cap.mailbox()[..], &bytes[..], &id[..], rank])?;
        }
        Ok(())
    }
    fn peer_mailboxes(&mut self, peer: &IdentityPublicKey) -> Result<Vec<ReadCapability>, Error> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT capability FROM mailboxes WHERE peer = ?1 ORDER BY rank")?;
        let rows = stmt.query_map([&peer.to_array()[..]], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = secret::<32>(row?, "mailbox capability")?;
            out.push(ReadCapability::from_bytes(*bytes));
        }
        Ok(out)
    }
    fn mailbox_capabilities(&mut self) -> Result<Vec<ReadCapability>, Error> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT capability FROM mailboxes ORDER BY mailbox")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = secret::<32>(row?, "mailbox capability")?;
            out.push(ReadCapability::from_bytes(*bytes));
        }
        Ok(out)
    }

    fn discovery(&mut self, relay_key: &[u8; 32]) -> Result<Option<DiscoveryRecord>, Error> {
        let row: Option<DiscoveryRow> = self
            .tx
            .query_row(
                "SELECT secret, mark, ledger FROM discovery WHERE relay_key = ?1",
                [&relay_key[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((s, mark, ledger)) = row else {
            return Ok(None);
        };
        Ok(Some(DiscoveryRecord {
            secret: secret(s, "discovery secret")?,
            mark: array(mark, "generation mark")?,
            ledger,
        }))
    }
    fn put_discovery(&mut self, relay_key: &[u8; 32], r: &DiscoveryRecord) -> Result<(), Error> {
        self.tx.execute(
            "INSERT OR REPLACE INTO discovery (relay_key, secret, mark, ledger) \
             VALUES (?1, ?2, ?3, ?4)",
            params![&relay_key[..], &r.secret[..], &r.mark[..], r.ledger],
        )?;
        Ok(())
    }

    fn ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        contacts: &[[u8; 32]],
    ) -> Result<Vec<Option<[u8; 32]>>, Error> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT ch2_id FROM ch2_ids WHERE oracle_key = ?1 AND key_epoch = ?2 AND ch1_id = ?3",
        )?;
        let mut out = Vec::with_capacity(contacts.len());
        for c in contacts {
            let id: Option<Vec<u8>> = stmt
                .query_row(params![&oracle_key[..], key_epoch, &c[..]], |r| r.get(0))
                .optional()?;
            out.push(id.map(|b| array(b, "ch2 id")).transpose()?);
        }
        Ok(out)
    }
    fn ch2_epoch(&mut self, oracle_key: &[u8; 32]) -> Result<Option<(u32, usize)>, Error> {
        let row: Option<(u32, i64)> = self
            .tx
            .query_row(
                "SELECT key_epoch, COUNT(*) FROM ch2_ids WHERE oracle_key = ?1 \
                 GROUP BY key_epoch ORDER BY key_epoch DESC LIMIT 1",
                [&oracle_key[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(epoch, n)| {
            usize::try_from(n)
                .map(|n| (epoch, n))
                .map_err(|_| Error::Storage("ch2 id count".into()))
        })
        .transpose()
    }
    fn put_ch2_ids(
        &mut self,
        oracle_key: &[u8; 32],
        key_epoch: u32,
        pairs: &[([u8; 32], [u8; 32])],
    ) -> Result<(), Error> {
        let newest: Option<u32> = self.tx.query_row(
            "SELECT MAX(key_epoch) FROM ch2_ids WHERE oracle_key = ?1",
            [&oracle_key[..]],
            |r| r.get(0),
        )?;
        if newest.is_some_and(|e| e > key_epoch) {
            return Ok(());
        }
        self.tx.execute(
            "DELETE FROM ch2_ids WHERE oracle_key = ?1 AND key_epoch < ?2",
            params![&oracle_key[..], key_epoch],
        )?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO ch2_ids (oracle_key, key_epoch, ch1_id, ch2_id) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (ch1, ch2) in pairs {
            stmt.execute(params![&oracle_key[..], key_epoch, &ch1[..], &ch2[..]])?;
        }
        Ok(())
    }
}
