//! The SQLite backend (the relay's default): one embedded database file in WAL mode.
//!
//! # Concurrency and durability
//!
//! One dedicated writer thread owns the only read-write connection. Every write operation
//! is a command sent to it over a channel; the thread drains whatever is queued (up to
//! [`MAX_BATCH`] commands), runs them in ONE `BEGIN IMMEDIATE` transaction, each inside its
//! own `SAVEPOINT` (released when the operation succeeds, rolled back when it is refused or
//! fails, so a refused operation changes nothing and never disturbs its neighbours), commits
//! once, and only then answers each caller. With `synchronous=FULL` the commit fsyncs the
//! write-ahead log, so an operation whose future resolved `Ok` survives `kill -9` and power
//! loss; group commit spreads that one fsync over every operation of the batch.
//!
//! Reads (`fetch`, `bucket`, `get_bundle`, `pool_counts`, `dump`) go to [`READERS`] reader
//! threads, each owning a read-only connection; WAL lets them read the last committed
//! state while the writer writes. [`SqliteStore::open_in_memory`] has no reader threads (a
//! private in-memory database has only one connection): its reads run on the writer.
//!
//! Claims are writes (they delete the one-time keys they hand out), so the single writer
//! serialises them: no key is handed out twice.
//!
//! # Schema
//!
//! Every column is something spec §11 lets a relay hold; nothing else is stored (no sender,
//! no address, no arrival time beyond what retention needs).
//!
//! - `bundles(owner BLOB PRIMARY KEY, issued_at, expires_at, publication BLOB)`: the owner's
//!   opaque id, the signed publication as uploaded, and its two times (`issued_at` refuses
//!   stale replacements, `expires_at` stops claims and drives the sweep).
//! - `one_time_keys(n INTEGER PRIMARY KEY, owner, kind, key_id, record BLOB)`: one row per
//!   one-time public key. `n` (the rowid) is the upload order, so a claim takes the oldest;
//!   `kind` is 0 for X25519, 1 for ML-KEM; `key_id` makes a re-upload of the same id replace
//!   the key (unique per owner and kind). Index `(owner, kind, n)` finds the oldest key.
//! - `mailboxes(mailbox BLOB PRIMARY KEY, next_seq, envelopes, bytes, last_used)`: per
//!   mailbox, the next seq to hand out (seqs start at 1 and are never reused while the row
//!   exists), the envelope count and byte total it holds (so a deposit checks its quota
//!   without `COUNT(*)`), and the time of its last deposit (retention of idle mailboxes).
//! - `envelopes(mailbox, seq, expires_at, envelope BLOB)`: the sealed, already padded
//!   envelopes, unique index `(mailbox, seq)` for fetch and ack, index `expires_at` for the
//!   sweep. A rowid table: faster than `WITHOUT ROWID` for this workload (measured).
//! - `registrations(owner, generation, tag, bucket, record)`: contact-discovery entries
//!   (spec §9.8) with the salt generation they were registered under (a small integer, the
//!   public parameters' `salt_generation`), primary key `(owner, generation, tag)`
//!   (re-registering the same tag in the same generation replaces it; the per-owner count
//!   is per generation), index `(generation, bucket, tag)` for bucket downloads (one
//!   generation's bucket) and for deleting earlier generations.
//! - `commit_slots(mailbox BLOB PRIMARY KEY, closed_at)`: the group-epoch mailboxes whose
//!   one commit has been accepted (spec §15.6), with the time of that commit; never the
//!   commit token. Index `closed_at` for the sweep, which deletes a slot when the commit's
//!   envelope expires (`closed_at + retention <= now`): every envelope of the epoch was
//!   deposited before the commit, so the slot outlives them all.
//!
//! # Schema versions
//!
//! `PRAGMA user_version` holds the schema version, [`SCHEMA_VERSION`]. Opening a database
//! migrates it forward in the same transaction that creates missing tables: version 0 is a
//! new database or one written before versions were recorded (schema 1); schema 2 added
//! `registrations.generation`, and the migration gives existing rows generation 1 (the
//! reference relay's `ch1` generation, the only one it had served); schema 3 added
//! `commit_slots`, which the schema's `CREATE TABLE IF NOT EXISTS` creates (no existing
//! row changes). A database of a newer version than this relay knows is refused rather
//! than written with an older layout.
//!
//! No foreign keys: every operation keeps the tables consistent itself (keys are only added
//! while a bundle exists and are deleted with it; envelope rows only exist under a mailbox
//! row), and enforcing them would cost a lookup per insert on the hot path.
//!
//! # Times
//!
//! Times and seqs are `u64` in the API and `INTEGER` (i64) in SQLite; values beyond
//! `i64::MAX` saturate (they are billions of years away). As spec §12.3–§12.5 put it for
//! publications, something with `expires_at` is expired at `now` when `now >= expires_at`:
//! claims and fetches refuse it, the sweep deletes it. A mailbox is idle at `now` when its
//! last deposit is at least the retention period old (`last_used + retention <= now`).

use core::future::Future;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use super::{
    BundleRecord, Claimed, Entry, Id, KeyKind, KeyRecords, PoolCounts, Store, StoreError, Stored,
    Table, Value,
};
use crate::limits;

/// The quotas and retention a store enforces. [`Limits::default`] is the relay's bounds from
/// [`crate::limits`]; tests pass smaller ones to reach a quota cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Envelopes one mailbox may hold ([`limits::MAX_MAILBOX_ENVELOPES`]).
    pub mailbox_envelopes: u64,
    /// Bytes of envelopes one mailbox may hold ([`limits::MAX_MAILBOX_BYTES`]).
    pub mailbox_bytes: u64,
    /// One-time keys of each kind one owner may keep ([`limits::MAX_ONE_TIME_KEYS`]).
    pub one_time_keys: u64,
    /// Registrations one owner may hold ([`limits::MAX_REGISTRATIONS_PER_OWNER`]).
    pub registrations_per_owner: u64,
    /// Entries one discovery bucket may hold: the most a lookup response can carry
    /// ([`blindrelay::contact::wire::MAX_BUCKET_ENTRIES`]).
    pub bucket_entries: u64,
    /// Seconds an envelope is kept, and an empty mailbox without deposits before it is
    /// forgotten ([`limits::ENVELOPE_RETENTION_SECS`]).
    pub envelope_retention_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            mailbox_envelopes: limits::MAX_MAILBOX_ENVELOPES,
            mailbox_bytes: limits::MAX_MAILBOX_BYTES,
            one_time_keys: limits::MAX_ONE_TIME_KEYS,
            registrations_per_owner: limits::MAX_REGISTRATIONS_PER_OWNER,
            bucket_entries: blindrelay::contact::wire::MAX_BUCKET_ENTRIES as u64,
            envelope_retention_secs: limits::ENVELOPE_RETENTION_SECS,
        }
    }
}

/// Most write operations the writer thread commits in one transaction.
pub const MAX_BATCH: usize = 256;
/// Reader threads (and read-only connections) of a file-backed store.
pub const READERS: usize = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bundles (
    owner BLOB PRIMARY KEY NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    publication BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS one_time_keys (
    n INTEGER PRIMARY KEY,
    owner BLOB NOT NULL,
    kind INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    record BLOB NOT NULL,
    UNIQUE (owner, kind, key_id)
);
CREATE INDEX IF NOT EXISTS one_time_keys_by_age ON one_time_keys (owner, kind, n);
CREATE TABLE IF NOT EXISTS mailboxes (
    mailbox BLOB PRIMARY KEY NOT NULL,
    next_seq INTEGER NOT NULL,
    envelopes INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS envelopes (
    mailbox BLOB NOT NULL,
    seq INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    envelope BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_by_seq ON envelopes (mailbox, seq);
CREATE INDEX IF NOT EXISTS envelopes_by_expiry ON envelopes (expires_at);
CREATE TABLE IF NOT EXISTS registrations (
    owner BLOB NOT NULL,
    generation INTEGER NOT NULL,
    tag BLOB NOT NULL,
    bucket INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (owner, generation, tag)
);
CREATE INDEX IF NOT EXISTS registrations_by_generation
    ON registrations (generation, bucket, tag);
CREATE TABLE IF NOT EXISTS commit_slots (
    mailbox BLOB PRIMARY KEY NOT NULL,
    closed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS commit_slots_by_age ON commit_slots (closed_at);
";

/// The schema version this relay writes (`PRAGMA user_version`; see the module docs).
pub const SCHEMA_VERSION: i64 = 3;

/// Schema 1 to 2: `registrations` gains `generation` (existing rows: generation 1, the
/// reference relay's `ch1` generation) and its primary key becomes
/// `(owner, generation, tag)`. SQLite cannot change a primary key in place, so the table is
/// rebuilt (its old `(bucket, tag)` index goes with it). A database without the table (a
/// new one) or already with the column is left alone.
const MIGRATE_REGISTRATIONS_GENERATION: &str = "
CREATE TABLE registrations_v2 (
    owner BLOB NOT NULL,
    generation INTEGER NOT NULL,
    tag BLOB NOT NULL,
    bucket INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (owner, generation, tag)
);
INSERT INTO registrations_v2 (owner, generation, tag, bucket, record)
    SELECT owner, 1, tag, bucket, record FROM registrations;
DROP TABLE registrations;
ALTER TABLE registrations_v2 RENAME TO registrations;
";

/// Brings the schema to [`SCHEMA_VERSION`] inside the caller's transaction (see the module
/// docs), then creates what is missing.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .db()?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "sqlite: database schema version {version} is newer than this relay's \
             {SCHEMA_VERSION}"
        )));
    }
    if version < 2 {
        let (table, column): (i64, i64) = conn
            .query_row(
                "SELECT
                     (SELECT COUNT(*) FROM sqlite_master
                      WHERE type = 'table' AND name = 'registrations'),
                     (SELECT COUNT(*) FROM pragma_table_info('registrations')
                      WHERE name = 'generation')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .db()?;
        if table == 1 && column == 0 {
            conn.execute_batch(MIGRATE_REGISTRATIONS_GENERATION).db()?;
        }
    }
    conn.execute_batch(SCHEMA).db()?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .db()
}

/// Converts a rusqlite result into a store result whose message never holds stored bytes
/// (rusqlite's messages name tables, columns and types, never values).
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backend(format!("sqlite: {e}")))
    }
}

/// A `u64` time, seq or count as an SQL integer, saturating at `i64::MAX`.
pub(crate) fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An SQL integer the store wrote as a `u64` (never negative).
pub(crate) fn from_sql_int(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Backend("negative integer in the store".into()))
}

/// A byte length as an SQL integer.
pub(super) fn sql_len(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// The column value of a key kind.
pub(super) fn kind_code(kind: KeyKind) -> i16 {
    match kind {
        KeyKind::X25519 => 0,
        KeyKind::Kem => 1,
    }
}

/// A stored 16-byte match tag.
pub(super) fn tag_from(bytes: &[u8]) -> Result<[u8; 16], StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map_err(|_| StoreError::Backend("stored match tag is not 16 bytes".into()))
}

/// The message of a store that is shut down.
fn closed() -> StoreError {
    StoreError::Backend("sqlite store is shut down".into())
}

/// What the writer thread does with one batch member once the batch's fate is known:
/// answers the caller with the operation's result, or the commit's error.
type Finish = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// One write command for the writer thread.
trait WriteJob: Send {
    /// Runs the operation inside its savepoint; says whether to keep its changes, and
    /// returns how to answer the caller once the batch is committed (or not).
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish);
    /// Answers the caller without running: the batch could not run.
    fn fail(self: Box<Self>, error: &str);
}

struct Op<T, F> {
    op: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Op<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish) {
        let Self { op, reply } = *self;
        let result = op(conn);
        let keep = result.is_ok();
        let finish: Finish = Box::new(move |committed: Result<(), &str>| {
            let answer = match (result, committed) {
                (Ok(v), Ok(())) => Ok(v),
                (Ok(_), Err(e)) => Err(StoreError::Backend(e.to_owned())),
                // A refusal changed nothing whether or not the batch committed.
                (Err(e), _) => Err(e),
            };
            // The caller may have gone away; the operation's fate is the same.
            let _ = reply.send(answer);
        });
        (keep, finish)
    }

    fn fail(self: Box<Self>, error: &str) {
        let _ = self.reply.send(Err(StoreError::Backend(error.to_owned())));
    }
}

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The SQLite store: a writer thread with group commit and a few reader threads.
pub struct SqliteStore {
    writer: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    writer_thread: Option<JoinHandle<()>>,
    /// `None` for an in-memory store: its reads run on the writer.
    readers: Option<mpsc::Sender<ReadJob>>,
    reader_threads: Vec<JoinHandle<()>>,
    /// Dropping it stops the checkpointer (file stores only).
    checkpoint_stop: Option<mpsc::Sender<()>>,
    checkpoint_thread: Option<JoinHandle<()>>,
    limits: Limits,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.reader_threads.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Applies the writer connection's settings and creates the schema.
fn prepare_writer(conn: &Connection, file: bool) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5)).db()?;
    conn.set_prepared_statement_cache_capacity(64);
    if file {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "sqlite: journal_mode is {mode}, not WAL"
            )));
        }
    }
    // Durable before ack: every commit fsyncs the WAL.
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    conn.pragma_update(None, "foreign_keys", false).db()?;
    let tx = conn.unchecked_transaction().db()?;
    migrate(&tx)?;
    tx.commit().db()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`: WAL mode, `synchronous=FULL`, the
    /// schema, the writer thread and [`READERS`] reader threads, with the default
    /// [`Limits`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened, is not a database, cannot
    /// switch to WAL, or a thread cannot be spawned.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).db()?;
        prepare_writer(&conn, true)?;
        // Checkpoints run on their own thread (below), not inside a commit: an automatic
        // checkpoint syncs the database file and would stall every deposit of its batch.
        conn.pragma_update(None, "wal_autocheckpoint", 0).db()?;
        let mut store = Self::spawn_writer(conn)?;
        let checkpointer = Connection::open(path).db()?;
        checkpointer.busy_timeout(Duration::from_secs(5)).db()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &stopped))
            .map_err(|e| StoreError::Backend(format!("spawning the checkpointer: {e}")))?;
        store.checkpoint_stop = Some(stop);
        store.checkpoint_thread = Some(handle);
        let (tx, rx) = mpsc::channel::<ReadJob>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .db()?;
            conn.busy_timeout(Duration::from_secs(5)).db()?;
            conn.set_prepared_statement_cache_capacity(32);
            let rx = Arc::clone(&rx);
            let handle = std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || reader_loop(&conn, &rx))
                .map_err(|e| StoreError::Backend(format!("spawning a reader: {e}")))?;
            store.reader_threads.push(handle);
        }
        store.readers = Some(tx);
        Ok(store)
    }

    /// A private in-memory database (nothing survives the store): for tests and demos.
    /// Its reads run on the writer thread.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if SQLite or the thread cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().db()?;
        prepare_writer(&conn, false)?;
        Self::spawn_writer(conn)
    }

    /// The same store enforcing `limits` instead of the defaults.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits this store enforces.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn spawn_writer(conn: Connection) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(&conn, &rx))
            .map_err(|e| StoreError::Backend(format!("spawning the writer: {e}")))?;
        Ok(Self {
            writer: Some(tx),
            writer_thread: Some(handle),
            readers: None,
            reader_threads: Vec::new(),
            checkpoint_stop: None,
            checkpoint_thread: None,
            limits: Limits::default(),
        })
    }

    /// Runs `op` on the writer thread as one atomic operation of the next batch; resolves
    /// once the batch is committed.
    async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Op { op, reply });
        self.writer
            .as_ref()
            .ok_or_else(closed)?
            .send(job)
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Runs `op` on a reader connection (on the writer for an in-memory store).
    async fn read<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(op).await;
        };
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(op(conn));
        });
        readers.send(job).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Drop for SqliteStore {
    /// Stops the threads: the writer finishes (and commits) what is queued, then exits.
    /// No operation can be pending: each one borrows the store.
    fn drop(&mut self) {
        // Read-only connections and the checkpointer close first, the writer last: the last
        // connection to close (a read-write one) folds the WAL back into the database file,
        // so `relay.db` alone holds everything after a clean shutdown.
        self.checkpoint_stop = None;
        if let Some(checkpointer) = self.checkpoint_thread.take() {
            let _ = checkpointer.join();
        }
        self.readers = None;
        for reader in self.reader_threads.drain(..) {
            let _ = reader.join();
        }
        self.writer = None;
        if let Some(writer) = self.writer_thread.take() {
            let _ = writer.join();
        }
    }
}

/// Every [`CHECKPOINT_INTERVAL`], copies committed WAL frames into the database file
/// (`PRAGMA wal_checkpoint(PASSIVE)`: never blocks the writer or readers), so the WAL stays
/// small without a commit ever paying for a checkpoint. Durability does not depend on it:
/// every commit already synced the WAL. Stops when the store drops its sender.
fn checkpoint_loop(conn: &Connection, stop: &mpsc::Receiver<()>) {
    loop {
        match stop.recv_timeout(CHECKPOINT_INTERVAL) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
            _ => return,
        }
    }
}

/// How often the checkpointer runs.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

fn reader_loop(conn: &Connection, jobs: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        let job = {
            let guard = match jobs.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            guard.recv()
        };
        match job {
            Ok(job) => job(conn),
            Err(_) => return,
        }
    }
}

fn writer_loop(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(32);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(conn, batch);
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(|e| format!("sqlite: {e}"))
}

/// One group commit: every job in its own savepoint, one transaction, one fsync.
fn run_batch(conn: &Connection, batch: Vec<Box<dyn WriteJob>>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        for job in batch {
            job.fail(&e);
        }
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        if let Err(e) = exec(conn, "SAVEPOINT op") {
            job.fail(&e);
            broken = Some(e);
            break;
        }
        let (keep, finish) = job.run(conn);
        finishes.push(finish);
        let end = if keep {
            exec(conn, "RELEASE op")
        } else {
            exec(conn, "ROLLBACK TO op").and_then(|()| exec(conn, "RELEASE op"))
        };
        if let Err(e) = end {
            // The transaction is unusable (SQLite may have rolled it back already).
            broken = Some(e);
            break;
        }
    }
    let outcome = match broken {
        Some(e) => {
            for job in jobs {
                job.fail(&e);
            }
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            Err(e)
        }
        None => exec(conn, "COMMIT").inspect_err(|_| {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
        }),
    };
    for finish in finishes {
        finish(outcome.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

// ---- The operations, each run inside its own savepoint (writes) or on a reader. ----

fn get_bundle(conn: &Connection, owner: &Id) -> Result<Option<BundleRecord>, StoreError> {
    conn.prepare_cached("SELECT issued_at, expires_at, publication FROM bundles WHERE owner = ?1")
        .db()?
        .query_row([owner], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()
        .db()?
        .map(|(issued, expires, bytes)| {
            Ok(BundleRecord {
                issued_at: from_sql_int(issued)?,
                expires_at: from_sql_int(expires)?,
                bytes,
            })
        })
        .transpose()
}

fn put_bundle(
    conn: &Connection,
    owner: &Id,
    record: &BundleRecord,
    reset_pool: bool,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO bundles (owner, issued_at, expires_at, publication)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (owner) DO UPDATE SET issued_at = excluded.issued_at,
                 expires_at = excluded.expires_at, publication = excluded.publication
             WHERE excluded.issued_at > bundles.issued_at",
        )
        .db()?
        .execute(params![
            owner,
            sql_int(record.issued_at),
            sql_int(record.expires_at),
            record.bytes
        ])
        .db()?;
    if changed == 0 {
        return Err(StoreError::Stale);
    }
    if reset_pool {
        conn.prepare_cached("DELETE FROM one_time_keys WHERE owner = ?1")
            .db()?
            .execute([owner])
            .db()?;
    }
    Ok(())
}

fn pool_counts(conn: &Connection, owner: &Id) -> Result<PoolCounts, StoreError> {
    let mut counts = PoolCounts::default();
    let mut stmt = conn
        .prepare_cached("SELECT kind, COUNT(*) FROM one_time_keys WHERE owner = ?1 GROUP BY kind")
        .db()?;
    let mut rows = stmt.query([owner]).db()?;
    while let Some(row) = rows.next().db()? {
        let kind: i16 = row.get(0).db()?;
        let count = from_sql_int(row.get(1).db()?)?;
        if kind == kind_code(KeyKind::X25519) {
            counts.x25519 = count;
        } else if kind == kind_code(KeyKind::Kem) {
            counts.kem = count;
        }
    }
    Ok(counts)
}

fn count_of(counts: PoolCounts, kind: KeyKind) -> u64 {
    match kind {
        KeyKind::X25519 => counts.x25519,
        KeyKind::Kem => counts.kem,
    }
}

fn add_one_time_keys(
    conn: &Connection,
    limits: &Limits,
    owner: &Id,
    issued_at: u64,
    batches: [(KeyKind, &KeyRecords); 2],
) -> Result<PoolCounts, StoreError> {
    for (_, keys) in &batches {
        if u64::try_from(keys.len()).unwrap_or(u64::MAX) > limits.one_time_keys {
            return Err(StoreError::PoolFull);
        }
    }
    match get_bundle(conn, owner)? {
        Some(b) if b.issued_at == issued_at => {}
        _ => return Err(StoreError::NoBundle),
    }
    let mut insert = conn
        .prepare_cached(
            // REPLACE deletes a key with the same id and inserts the new one as the newest.
            "INSERT OR REPLACE INTO one_time_keys (owner, kind, key_id, record)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .db()?;
    for (kind, keys) in &batches {
        for (id, record) in *keys {
            insert
                .execute(params![owner, kind_code(*kind), i64::from(*id), record])
                .db()?;
        }
    }
    let counts = pool_counts(conn, owner)?;
    if count_of(counts, KeyKind::X25519) > limits.one_time_keys
        || count_of(counts, KeyKind::Kem) > limits.one_time_keys
    {
        // The savepoint rolls the inserts back.
        return Err(StoreError::PoolFull);
    }
    Ok(counts)
}

fn claim(conn: &Connection, owner: &Id, now: u64) -> Result<Option<Claimed>, StoreError> {
    let Some(bundle) = get_bundle(conn, owner)? else {
        return Ok(None);
    };
    if now >= bundle.expires_at {
        return Ok(None);
    }
    let mut take = conn
        .prepare_cached(
            "DELETE FROM one_time_keys WHERE n = (
                 SELECT n FROM one_time_keys WHERE owner = ?1 AND kind = ?2
                 ORDER BY n LIMIT 1)
             RETURNING record",
        )
        .db()?;
    let x25519 = take
        .query_row(params![owner, kind_code(KeyKind::X25519)], |r| r.get(0))
        .optional()
        .db()?;
    let kem = take
        .query_row(params![owner, kind_code(KeyKind::Kem)], |r| r.get(0))
        .optional()
        .db()?;
    Ok(Some(Claimed {
        bundle,
        x25519,
        kem,
    }))
}

fn delete_owner(conn: &Connection, owner: &Id) -> Result<bool, StoreError> {
    let mut deleted = 0;
    for sql in [
        "DELETE FROM bundles WHERE owner = ?1",
        "DELETE FROM one_time_keys WHERE owner = ?1",
        "DELETE FROM registrations WHERE owner = ?1",
    ] {
        deleted += conn.prepare_cached(sql).db()?.execute([owner]).db()?;
    }
    Ok(deleted > 0)
}

/// Whether `mailbox`'s commit slot is closed.
fn slot_closed(conn: &Connection, mailbox: &Id) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM commit_slots WHERE mailbox = ?1")
        .db()?
        .query_row([mailbox], |_| Ok(()))
        .optional()
        .db()
        .map(|row| row.is_some())
}

/// A deposit (the caller's savepoint makes it all or nothing): refused once a commit has
/// closed the mailbox's slot, then [`store_envelope`].
fn deposit(
    conn: &Connection,
    limits: &Limits,
    mailbox: &Id,
    envelope: &[u8],
    now: u64,
) -> Result<u64, StoreError> {
    if slot_closed(conn, mailbox)? {
        return Err(StoreError::EpochClosed);
    }
    store_envelope(conn, limits, mailbox, envelope, now)
}

/// A commit (spec §15.6): closes the slot, then stores the envelope as a deposit does. A
/// refusal of either rolls both back (the caller's savepoint), so a full mailbox leaves the
/// slot open.
fn commit(
    conn: &Connection,
    limits: &Limits,
    mailbox: &Id,
    envelope: &[u8],
    now: u64,
) -> Result<u64, StoreError> {
    let closed = conn
        .prepare_cached(
            "INSERT INTO commit_slots (mailbox, closed_at) VALUES (?1, ?2)
             ON CONFLICT (mailbox) DO NOTHING",
        )
        .db()?
        .execute(params![mailbox, sql_int(now)])
        .db()?;
    if closed == 0 {
        return Err(StoreError::CommitSlotTaken);
    }
    store_envelope(conn, limits, mailbox, envelope, now)
}

/// Assigns the mailbox's next seq, checks its quota and inserts the envelope.
fn store_envelope(
    conn: &Connection,
    limits: &Limits,
    mailbox: &Id,
    envelope: &[u8],
    now: u64,
) -> Result<u64, StoreError> {
    let len = sql_len(envelope.len());
    let (seq, count, bytes): (i64, i64, i64) = conn
        .prepare_cached(
            "INSERT INTO mailboxes (mailbox, next_seq, envelopes, bytes, last_used)
             VALUES (?1, 2, 1, ?2, ?3)
             ON CONFLICT (mailbox) DO UPDATE SET next_seq = next_seq + 1,
                 envelopes = envelopes + 1, bytes = bytes + excluded.bytes,
                 last_used = excluded.last_used
             RETURNING next_seq - 1, envelopes, bytes",
        )
        .db()?
        .query_row(params![mailbox, len, sql_int(now)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .db()?;
    if from_sql_int(count)? > limits.mailbox_envelopes
        || from_sql_int(bytes)? > limits.mailbox_bytes
    {
        // The savepoint rolls the counter update back.
        return Err(StoreError::MailboxFull);
    }
    conn.prepare_cached(
        "INSERT INTO envelopes (mailbox, seq, expires_at, envelope) VALUES (?1, ?2, ?3, ?4)",
    )
    .db()?
    .execute(params![
        mailbox,
        seq,
        sql_int(now.saturating_add(limits.envelope_retention_secs)),
        envelope
    ])
    .db()?;
    from_sql_int(seq)
}

fn fetch(
    conn: &Connection,
    mailbox: &Id,
    after: u64,
    limit: usize,
    now: u64,
) -> Result<Vec<Stored>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, envelope FROM envelopes
             WHERE mailbox = ?1 AND seq > ?2 AND expires_at > ?3
             ORDER BY seq LIMIT ?4",
        )
        .db()?;
    let mut rows = stmt
        .query(params![
            mailbox,
            sql_int(after),
            sql_int(now),
            sql_len(limit)
        ])
        .db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        out.push(Stored {
            seq: from_sql_int(row.get(0).db()?)?,
            envelope: row.get(1).db()?,
        });
    }
    Ok(out)
}

fn ack(conn: &Connection, mailbox: &Id, up_to: u64) -> Result<u64, StoreError> {
    let (count, bytes) = {
        let mut stmt = conn
            .prepare_cached(
                "DELETE FROM envelopes WHERE mailbox = ?1 AND seq <= ?2
                 RETURNING length(envelope)",
            )
            .db()?;
        let mut rows = stmt.query(params![mailbox, sql_int(up_to)]).db()?;
        let (mut count, mut bytes) = (0_i64, 0_i64);
        while let Some(row) = rows.next().db()? {
            count += 1;
            bytes += row.get::<_, i64>(0).db()?;
        }
        (count, bytes)
    };
    if count > 0 {
        conn.prepare_cached(
            "UPDATE mailboxes SET envelopes = envelopes - ?2, bytes = bytes - ?3
             WHERE mailbox = ?1",
        )
        .db()?
        .execute(params![mailbox, count, bytes])
        .db()?;
    }
    from_sql_int(count)
}

fn sweep(conn: &Connection, limits: &Limits, now: u64) -> Result<u64, StoreError> {
    let now_sql = sql_int(now);
    conn.prepare_cached(
        "UPDATE mailboxes SET envelopes = envelopes - e.n, bytes = bytes - e.b
         FROM (SELECT mailbox AS m, COUNT(*) AS n, SUM(length(envelope)) AS b
               FROM envelopes WHERE expires_at <= ?1 GROUP BY mailbox) AS e
         WHERE mailboxes.mailbox = e.m",
    )
    .db()?
    .execute([now_sql])
    .db()?;
    let mut deleted = 0_usize;
    for sql in [
        "DELETE FROM envelopes WHERE expires_at <= ?1",
        "DELETE FROM one_time_keys WHERE owner IN
             (SELECT owner FROM bundles WHERE expires_at <= ?1)",
        "DELETE FROM bundles WHERE expires_at <= ?1",
    ] {
        deleted += conn.prepare_cached(sql).db()?.execute([now_sql]).db()?;
    }
    let retained_since = sql_int(now.saturating_sub(limits.envelope_retention_secs));
    for sql in [
        "DELETE FROM mailboxes WHERE envelopes = 0 AND last_used <= ?1",
        // A slot goes when its commit's envelope expires: `closed_at + retention <= now`.
        "DELETE FROM commit_slots WHERE closed_at <= ?1",
    ] {
        deleted += conn
            .prepare_cached(sql)
            .db()?
            .execute([retained_since])
            .db()?;
    }
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

fn register(
    conn: &Connection,
    limits: &Limits,
    owner: &Id,
    generation: u32,
    bucket: u32,
    entry: &Entry,
) -> Result<(), StoreError> {
    let generation = i64::from(generation);
    let others: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM registrations
             WHERE owner = ?1 AND generation = ?2 AND tag <> ?3",
        )
        .db()?
        .query_row(params![owner, generation, entry.tag], |r| r.get(0))
        .db()?;
    if from_sql_int(others)? >= limits.registrations_per_owner {
        return Err(StoreError::TooManyRegistrations);
    }
    conn.prepare_cached(
        "INSERT INTO registrations (owner, generation, tag, bucket, record)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (owner, generation, tag) DO UPDATE SET bucket = excluded.bucket,
             record = excluded.record",
    )
    .db()?
    .execute(params![
        owner,
        generation,
        entry.tag,
        i64::from(bucket),
        entry.record
    ])
    .db()?;
    let in_bucket: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM registrations WHERE generation = ?1 AND bucket = ?2")
        .db()?
        .query_row(params![generation, i64::from(bucket)], |r| r.get(0))
        .db()?;
    if from_sql_int(in_bucket)? > limits.bucket_entries {
        // The savepoint rolls the upsert back.
        return Err(StoreError::BucketFull);
    }
    Ok(())
}

fn deregister(conn: &Connection, owner: &Id) -> Result<u64, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM registrations WHERE owner = ?1")
        .db()?
        .execute([owner])
        .db()?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

fn drop_generations_before(conn: &Connection, generation: u32) -> Result<u64, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM registrations WHERE generation < ?1")
        .db()?
        .execute([i64::from(generation)])
        .db()?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

fn bucket(conn: &Connection, generation: u32, bucket: u32) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT tag, record FROM registrations WHERE generation = ?1 AND bucket = ?2
             ORDER BY tag, record",
        )
        .db()?;
    let mut rows = stmt
        .query(params![i64::from(generation), i64::from(bucket)])
        .db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let tag: Vec<u8> = row.get(0).db()?;
        out.push(Entry {
            tag: tag_from(&tag)?,
            record: row.get(1).db()?,
        });
    }
    Ok(out)
}

fn dump(conn: &Connection) -> Result<Vec<Table>, StoreError> {
    // One read transaction: every table from the same snapshot. (On the writer of an
    // in-memory store the batch's transaction already is one.)
    let snapshot = if conn.is_autocommit() {
        Some(conn.unchecked_transaction().db()?)
    } else {
        None
    };
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .db()?;
        let names = stmt.query_map([], |r| r.get(0)).db()?;
        names.collect::<Result<_, _>>().db()?
    };
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))
            .db()?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
        let width = columns.len();
        let mut rows = stmt.query([]).db()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match row.get_ref(i).db()? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Text(v.to_string()),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
                });
            }
            out.push(values);
        }
        tables.push(Table {
            name,
            columns,
            rows: out,
        });
    }
    drop(snapshot);
    Ok(tables)
}

impl Store for SqliteStore {
    fn put_bundle(
        &self,
        owner: Id,
        record: BundleRecord,
        reset_pool: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.write(move |c| put_bundle(c, &owner, &record, reset_pool))
    }

    fn get_bundle(
        &self,
        owner: Id,
    ) -> impl Future<Output = Result<Option<BundleRecord>, StoreError>> + Send {
        self.read(move |c| get_bundle(c, &owner))
    }

    fn add_one_time_keys(
        &self,
        owner: Id,
        issued_at: u64,
        x25519: Vec<(u32, Vec<u8>)>,
        kem: Vec<(u32, Vec<u8>)>,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send {
        let limits = self.limits;
        self.write(move |c| {
            add_one_time_keys(
                c,
                &limits,
                &owner,
                issued_at,
                [(KeyKind::X25519, &x25519), (KeyKind::Kem, &kem)],
            )
        })
    }

    fn claim(
        &self,
        owner: Id,
        now: u64,
    ) -> impl Future<Output = Result<Option<Claimed>, StoreError>> + Send {
        self.write(move |c| claim(c, &owner, now))
    }

    fn pool_counts(
        &self,
        owner: Id,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send {
        self.read(move |c| pool_counts(c, &owner))
    }

    fn delete_owner(&self, owner: Id) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.write(move |c| delete_owner(c, &owner))
    }

    fn deposit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let limits = self.limits;
        self.write(move |c| deposit(c, &limits, &mailbox, &envelope, now))
    }

    fn commit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let limits = self.limits;
        self.write(move |c| commit(c, &limits, &mailbox, &envelope, now))
    }

    fn fetch(
        &self,
        mailbox: Id,
        after: u64,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Stored>, StoreError>> + Send {
        self.read(move |c| fetch(c, &mailbox, after, limit, now))
    }

    fn ack(&self, mailbox: Id, up_to: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.write(move |c| ack(c, &mailbox, up_to))
    }

    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let limits = self.limits;
        self.write(move |c| sweep(c, &limits, now))
    }

    fn register(
        &self,
        owner: Id,
        generation: u32,
        bucket: u32,
        entry: Entry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let limits = self.limits;
        self.write(move |c| register(c, &limits, &owner, generation, bucket, &entry))
    }

    fn deregister(&self, owner: Id) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.write(move |c| deregister(c, &owner))
    }

    fn bucket(
        &self,
        generation: u32,
        bucket: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send {
        self.read(move |c| self::bucket(c, generation, bucket))
    }

    fn drop_generations_before(
        &self,
        generation: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.write(move |c| drop_generations_before(c, generation))
    }

    fn dump(&self) -> impl Future<Output = Result<Vec<Table>, StoreError>> + Send {
        self.read(dump)
    }
}
