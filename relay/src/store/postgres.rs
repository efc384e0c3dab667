//! The Postgres backend (scale-out: several relay processes over one database), through a
//! deadpool connection pool and tokio-postgres.
//!
//! The connection is plaintext (`NoTls`): TLS to Postgres is out of scope here; run the
//! database on the same host or a private network (or behind a TLS-terminating proxy).
//!
//! # Schema
//!
//! The same tables as the SQLite backend (see [`super::sqlite`] for why each column
//! exists), with `BYTEA` for bytes and `BIGINT` for times, seqs and counters (`SMALLINT`
//! for the key kind, `BIGSERIAL` for the upload order of one-time keys).
//!
//! Migrations run in [`PostgresStore::create_schema`], under its advisory lock and in its
//! transaction, and are detected from the catalog rather than recorded in a table of their
//! own (so the store's tables are the SQLite backend's, and a dump lists the same ones):
//! a `registrations` table without `generation` (written before registrations carried their
//! salt generation) gets the column, with generation 1 for its rows (the reference relay's
//! `ch1` generation), and the primary key `(owner, generation, tag)`; a database without
//! `commit_slots` (written before blind groups, spec §15.6) gets the table from the
//! schema's `CREATE TABLE IF NOT EXISTS`.
//!
//! # Isolation
//!
//! Every operation runs at `READ COMMITTED` and gets the isolation it needs from row locks:
//!
//! - `put_bundle` is one conditional upsert (`ON CONFLICT DO UPDATE ... WHERE` the stored
//!   `issued_at` is older), so two racing publications cannot both win.
//! - `claim` reads the bundle `FOR SHARE` (a concurrent replacement waits, so the bundle and
//!   the keys handed out belong together) and takes each key with
//!   `DELETE ... WHERE n = (SELECT ... ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING`:
//!   concurrent claims lock different keys, and a key is handed out by exactly one
//!   committed deletion.
//! - `add_one_time_keys` locks the bundle row `FOR UPDATE` (uploads of one owner are
//!   serialised, so the quota check after inserting is exact).
//! - `deposit` upserts the mailbox row (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`):
//!   its lock serialises deposits to one mailbox, hands out the seq and checks the quota
//!   in the same transaction as the envelope insert.
//! - `commit` upserts the mailbox row first too, so commits and deposits of one mailbox
//!   serialise on its lock; then it inserts the commit slot (`ON CONFLICT DO NOTHING`: no
//!   row inserted is `CommitSlotTaken`). `deposit` looks for the slot only after its upsert
//!   holds the lock, in a statement of its own, whose `READ COMMITTED` snapshot is taken
//!   after the lock was granted: a commit that held the lock before has committed its slot
//!   by then and the deposit sees it (`EpochClosed`); a commit waiting behind the deposit
//!   comes after it. No deposit is ever stored after the commit of its mailbox.
//! - `ack` and the sweep's envelope pass are each one statement: a data-modifying CTE
//!   deletes the envelopes and subtracts exactly what it deleted from the mailbox counters.
//! - `register` takes a transaction-scoped advisory lock on the owner, so the per-owner
//!   maximum holds under concurrent registrations.
//!
//! Times and their expiry rule are the SQLite backend's (`now >= expires_at` is expired).
//!
//! Commits are durable when Postgres runs with its default `synchronous_commit = on`.
//!
//! [`PostgresStore::connect_with_schema`] puts every table in a dedicated schema (through
//! the connections' `search_path`), so concurrent tests each get an empty store.

use core::future::Future;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::types::Type;
use tokio_postgres::{NoTls, Row};

use super::sqlite::{from_sql_int, kind_code, sql_int, sql_len, tag_from, Limits};
use super::{
    BundleRecord, Claimed, Entry, Id, KeyKind, KeyRecords, PoolCounts, Store, StoreError, Stored,
    Table, Value,
};

/// Connections the pool keeps open at most.
pub const POOL_SIZE: usize = 16;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bundles (
    owner BYTEA PRIMARY KEY,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    publication BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS one_time_keys (
    n BIGSERIAL PRIMARY KEY,
    owner BYTEA NOT NULL,
    kind SMALLINT NOT NULL,
    key_id BIGINT NOT NULL,
    record BYTEA NOT NULL,
    UNIQUE (owner, kind, key_id)
);
CREATE INDEX IF NOT EXISTS one_time_keys_by_age ON one_time_keys (owner, kind, n);
CREATE TABLE IF NOT EXISTS mailboxes (
    mailbox BYTEA PRIMARY KEY,
    next_seq BIGINT NOT NULL,
    envelopes BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    last_used BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS envelopes (
    mailbox BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    envelope BYTEA NOT NULL,
    PRIMARY KEY (mailbox, seq)
);
CREATE INDEX IF NOT EXISTS envelopes_by_expiry ON envelopes (expires_at);
CREATE TABLE IF NOT EXISTS registrations (
    owner BYTEA NOT NULL,
    generation BIGINT NOT NULL,
    tag BYTEA NOT NULL,
    bucket BIGINT NOT NULL,
    record BYTEA NOT NULL,
    PRIMARY KEY (owner, generation, tag)
);
CREATE INDEX IF NOT EXISTS registrations_by_generation
    ON registrations (generation, bucket, tag);
CREATE TABLE IF NOT EXISTS commit_slots (
    mailbox BYTEA PRIMARY KEY,
    closed_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS commit_slots_by_age ON commit_slots (closed_at);
";

/// Registrations gain their salt generation (see the module docs): existing rows are
/// generation 1, the primary key (whose name [`PRIMARY_KEY_OF_REGISTRATIONS`] finds)
/// becomes `(owner, generation, tag)`, and the `(bucket, tag)` index gives way to
/// `SCHEMA`'s `(generation, bucket, tag)`. `{pkey}` is replaced by the quoted key name.
const MIGRATE_REGISTRATIONS_GENERATION: &str = "
ALTER TABLE registrations ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE registrations ALTER COLUMN generation DROP DEFAULT;
ALTER TABLE registrations DROP CONSTRAINT {pkey};
ALTER TABLE registrations ADD PRIMARY KEY (owner, generation, tag);
DROP INDEX IF EXISTS registrations_by_bucket;
";

/// Whether `registrations` exists in the current schema, and whether it has `generation`.
const REGISTRATIONS_SHAPE: &str = "
SELECT to_regclass('registrations') IS NOT NULL,
       EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'registrations'
                 AND column_name = 'generation')";

/// The name of `registrations`' primary-key constraint.
const PRIMARY_KEY_OF_REGISTRATIONS: &str = "
SELECT conname::TEXT FROM pg_constraint
WHERE conrelid = 'registrations'::regclass AND contype = 'p'";

/// Arbitrary key of the advisory lock that serialises schema creation across processes.
const SCHEMA_LOCK: i64 = 0x626c_696e_6472_6c79;

/// Converts a tokio-postgres result into a store result. A database error becomes its
/// SQLSTATE and primary message, never its `DETAIL` (which can quote key values).
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| match e.as_db_error() {
            Some(db) => {
                StoreError::Backend(format!("postgres {}: {}", db.code().code(), db.message()))
            }
            None => StoreError::Backend(format!("postgres: {e}")),
        })
    }
}

/// Whether a schema name is a plain lowercase identifier (so it needs no quoting).
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

/// The Postgres store: a pool of connections, each operation in one transaction.
pub struct PostgresStore {
    pool: Pool,
    schema: Option<String>,
    limits: Limits,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, no TLS), using its
    /// default `search_path`, and creates the tables if they do not exist.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the URL is invalid or the database is unreachable or
    /// refuses the schema.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::build(url, None).await
    }

    /// Like [`connect`](Self::connect), but every table lives in the schema `schema`
    /// (created if missing; a lowercase identifier: `[a-z_][a-z0-9_]*`, at most 63 bytes).
    /// Tests give each store its own schema and remove it with
    /// [`drop_schema`](Self::drop_schema).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for an invalid schema name, or as [`connect`](Self::connect).
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !valid_schema(schema) {
            return Err(StoreError::Backend(
                "schema name must match [a-z_][a-z0-9_]* (at most 63 bytes)".into(),
            ));
        }
        Self::build(url, Some(schema.to_owned())).await
    }

    async fn build(url: &str, schema: Option<String>) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("postgres url: {e}")))?;
        if let Some(schema) = &schema {
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))?;
        let store = Self {
            pool,
            schema,
            limits: Limits::default(),
        };
        store.create_schema().await?;
        Ok(store)
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

    /// Creates the schema (if the store has its own), migrates tables written by an earlier
    /// version (see the module docs), and creates the tables and indexes that do not exist
    /// yet. Idempotent; serialised across processes by an advisory lock.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database refuses.
    pub async fn create_schema(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .db()?;
        if let Some(schema) = &self.schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .db()?;
        }
        let shape = tx.query_one(REGISTRATIONS_SHAPE, &[]).await.db()?;
        let (table, column): (bool, bool) = (shape.try_get(0).db()?, shape.try_get(1).db()?);
        if table && !column {
            let pkey: String = tx
                .query_one(PRIMARY_KEY_OF_REGISTRATIONS, &[])
                .await
                .db()?
                .try_get(0)
                .db()?;
            let pkey = format!("\"{}\"", pkey.replace('"', "\"\""));
            tx.batch_execute(&MIGRATE_REGISTRATIONS_GENERATION.replace("{pkey}", &pkey))
                .await
                .db()?;
        }
        tx.batch_execute(SCHEMA).await.db()?;
        tx.commit().await.db()
    }

    /// Drops this store's dedicated schema and everything in it (the end of a test).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the store has no dedicated schema (it never drops the
    /// default one) or the database refuses.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let Some(schema) = &self.schema else {
            return Err(StoreError::Backend(
                "store has no dedicated schema to drop".into(),
            ));
        };
        let client = self.client().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .db()
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))
    }
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query_opt(&stmt, params).await.db()
}

async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query(&stmt, params).await.db()
}

async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.execute(&stmt, params).await.db()
}

fn bundle_of(row: &Row) -> Result<BundleRecord, StoreError> {
    Ok(BundleRecord {
        issued_at: from_sql_int(row.try_get(0).db()?)?,
        expires_at: from_sql_int(row.try_get(1).db()?)?,
        bytes: row.try_get(2).db()?,
    })
}

async fn pool_counts<C: GenericClient>(c: &C, owner: &[u8]) -> Result<PoolCounts, StoreError> {
    let mut counts = PoolCounts::default();
    for row in query(
        c,
        "SELECT kind, COUNT(*) FROM one_time_keys WHERE owner = $1 GROUP BY kind",
        &[&owner],
    )
    .await?
    {
        let kind: i16 = row.try_get(0).db()?;
        let count = from_sql_int(row.try_get(1).db()?)?;
        if kind == kind_code(KeyKind::X25519) {
            counts.x25519 = count;
        } else if kind == kind_code(KeyKind::Kem) {
            counts.kem = count;
        }
    }
    Ok(counts)
}

/// `keys` with only the last upload of each id, in upload order (one `INSERT` may not
/// touch the same row twice).
fn last_of_each_id(keys: Vec<(u32, Vec<u8>)>) -> (Vec<i64>, Vec<Vec<u8>>) {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<(u32, Vec<u8>)> = keys
        .into_iter()
        .rev()
        .filter(|(id, _)| seen.insert(*id))
        .collect();
    kept.reverse();
    kept.into_iter().map(|(id, r)| (i64::from(id), r)).unzip()
}

impl PostgresStore {
    async fn put_bundle_op(
        &self,
        owner: Id,
        record: BundleRecord,
        reset_pool: bool,
    ) -> Result<(), StoreError> {
        let owner: &[u8] = &owner;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let changed = execute(
            &tx,
            "INSERT INTO bundles (owner, issued_at, expires_at, publication)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (owner) DO UPDATE SET issued_at = EXCLUDED.issued_at,
                 expires_at = EXCLUDED.expires_at, publication = EXCLUDED.publication
             WHERE bundles.issued_at < EXCLUDED.issued_at",
            &[
                &owner,
                &sql_int(record.issued_at),
                &sql_int(record.expires_at),
                &record.bytes,
            ],
        )
        .await?;
        if changed == 0 {
            tx.rollback().await.db()?;
            return Err(StoreError::Stale);
        }
        if reset_pool {
            execute(&tx, "DELETE FROM one_time_keys WHERE owner = $1", &[&owner]).await?;
        }
        tx.commit().await.db()
    }

    async fn add_one_time_keys_op(
        &self,
        owner: Id,
        issued_at: u64,
        batches: [(KeyKind, KeyRecords); 2],
    ) -> Result<PoolCounts, StoreError> {
        for (_, keys) in &batches {
            if u64::try_from(keys.len()).unwrap_or(u64::MAX) > self.limits.one_time_keys {
                return Err(StoreError::PoolFull);
            }
        }
        let owner: &[u8] = &owner;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let current = query_opt(
            &tx,
            "SELECT issued_at FROM bundles WHERE owner = $1 FOR UPDATE",
            &[&owner],
        )
        .await?
        .map(|row| row.try_get::<_, i64>(0))
        .transpose()
        .db()?;
        if current.and_then(|t| u64::try_from(t).ok()) != Some(issued_at) {
            tx.rollback().await.db()?;
            return Err(StoreError::NoBundle);
        }
        for (kind, keys) in batches {
            if keys.is_empty() {
                continue;
            }
            let (ids, records) = last_of_each_id(keys);
            execute(
                &tx,
                // A re-uploaded id gets the new record and a new place at the back of the queue.
                "INSERT INTO one_time_keys (owner, kind, key_id, record)
                 SELECT $1, $2, k.id, k.record
                 FROM UNNEST($3::BIGINT[], $4::BYTEA[]) WITH ORDINALITY AS k(id, record, ord)
                 ORDER BY k.ord
                 ON CONFLICT (owner, kind, key_id) DO UPDATE
                     SET record = EXCLUDED.record, n = DEFAULT",
                &[&owner, &kind_code(kind), &ids, &records],
            )
            .await?;
        }
        let counts = pool_counts(&tx, owner).await?;
        if counts.x25519 > self.limits.one_time_keys || counts.kem > self.limits.one_time_keys {
            tx.rollback().await.db()?;
            return Err(StoreError::PoolFull);
        }
        tx.commit().await.db()?;
        Ok(counts)
    }

    async fn claim_op(&self, owner: Id, now: u64) -> Result<Option<Claimed>, StoreError> {
        let owner: &[u8] = &owner;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let bundle = match query_opt(
            &tx,
            "SELECT issued_at, expires_at, publication FROM bundles WHERE owner = $1 FOR SHARE",
            &[&owner],
        )
        .await?
        {
            Some(row) => bundle_of(&row)?,
            None => {
                tx.rollback().await.db()?;
                return Ok(None);
            }
        };
        if now >= bundle.expires_at {
            tx.rollback().await.db()?;
            return Ok(None);
        }
        let take = "DELETE FROM one_time_keys WHERE n = (
                        SELECT n FROM one_time_keys WHERE owner = $1 AND kind = $2
                        ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING record";
        let x25519 = match query_opt(&tx, take, &[&owner, &kind_code(KeyKind::X25519)]).await? {
            Some(row) => Some(row.try_get(0).db()?),
            None => None,
        };
        let kem = match query_opt(&tx, take, &[&owner, &kind_code(KeyKind::Kem)]).await? {
            Some(row) => Some(row.try_get(0).db()?),
            None => None,
        };
        tx.commit().await.db()?;
        Ok(Some(Claimed {
            bundle,
            x25519,
            kem,
        }))
    }

    async fn delete_owner_op(&self, owner: Id) -> Result<bool, StoreError> {
        let owner: &[u8] = &owner;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let mut deleted = 0;
        for sql in [
            "DELETE FROM bundles WHERE owner = $1",
            "DELETE FROM one_time_keys WHERE owner = $1",
            "DELETE FROM registrations WHERE owner = $1",
        ] {
            deleted += execute(&tx, sql, &[&owner]).await?;
        }
        tx.commit().await.db()?;
        Ok(deleted > 0)
    }

    /// A deposit (`commit` false) or a commit (`commit` true) in one transaction: see the
    /// module docs for how the two serialise on the mailbox row.
    async fn deposit_op(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
        commit: bool,
    ) -> Result<u64, StoreError> {
        let mailbox: &[u8] = &mailbox;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        // First the mailbox row: its lock orders this operation against every deposit and
        // commit of the mailbox, and a refusal below rolls the counter update back.
        let row = query_opt(
            &tx,
            "INSERT INTO mailboxes (mailbox, next_seq, envelopes, bytes, last_used)
             VALUES ($1, 2, 1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET next_seq = mailboxes.next_seq + 1,
                 envelopes = mailboxes.envelopes + 1,
                 bytes = mailboxes.bytes + EXCLUDED.bytes, last_used = EXCLUDED.last_used
             RETURNING next_seq - 1, envelopes, bytes",
            &[&mailbox, &sql_len(envelope.len()), &sql_int(now)],
        )
        .await?
        .ok_or_else(|| StoreError::Backend("mailbox upsert returned no row".into()))?;
        let seq: i64 = row.try_get(0).db()?;
        let count = from_sql_int(row.try_get(1).db()?)?;
        let bytes = from_sql_int(row.try_get(2).db()?)?;
        if commit {
            let closed = execute(
                &tx,
                "INSERT INTO commit_slots (mailbox, closed_at) VALUES ($1, $2)
                 ON CONFLICT (mailbox) DO NOTHING",
                &[&mailbox, &sql_int(now)],
            )
            .await?;
            if closed == 0 {
                tx.rollback().await.db()?;
                return Err(StoreError::CommitSlotTaken);
            }
        } else if query_opt(
            &tx,
            "SELECT 1 FROM commit_slots WHERE mailbox = $1",
            &[&mailbox],
        )
        .await?
        .is_some()
        {
            tx.rollback().await.db()?;
            return Err(StoreError::EpochClosed);
        }
        if count > self.limits.mailbox_envelopes || bytes > self.limits.mailbox_bytes {
            tx.rollback().await.db()?;
            return Err(StoreError::MailboxFull);
        }
        execute(
            &tx,
            "INSERT INTO envelopes (mailbox, seq, expires_at, envelope) VALUES ($1, $2, $3, $4)",
            &[
                &mailbox,
                &seq,
                &sql_int(now.saturating_add(self.limits.envelope_retention_secs)),
                &envelope,
            ],
        )
        .await?;
        tx.commit().await.db()?;
        from_sql_int(seq)
    }

    async fn fetch_op(
        &self,
        mailbox: Id,
        after: u64,
        limit: usize,
        now: u64,
    ) -> Result<Vec<Stored>, StoreError> {
        let mailbox: &[u8] = &mailbox;
        let client = self.client().await?;
        query(
            &client,
            "SELECT seq, envelope FROM envelopes
             WHERE mailbox = $1 AND seq > $2 AND expires_at > $3
             ORDER BY seq LIMIT $4",
            &[&mailbox, &sql_int(after), &sql_int(now), &sql_len(limit)],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(Stored {
                seq: from_sql_int(row.try_get(0).db()?)?,
                envelope: row.try_get(1).db()?,
            })
        })
        .collect()
    }

    async fn ack_op(&self, mailbox: Id, up_to: u64) -> Result<u64, StoreError> {
        let mailbox: &[u8] = &mailbox;
        let client = self.client().await?;
        // One statement: the counters lose exactly what this statement deleted, even when
        // a concurrent ack deleted some of the same envelopes first.
        let row = query_opt(
            &client,
            "WITH d AS (DELETE FROM envelopes WHERE mailbox = $1 AND seq <= $2
                        RETURNING octet_length(envelope) AS len),
                  s AS (SELECT COUNT(*) AS n, COALESCE(SUM(len), 0)::BIGINT AS b FROM d),
                  u AS (UPDATE mailboxes SET envelopes = envelopes - s.n, bytes = bytes - s.b
                        FROM s WHERE mailbox = $1 AND s.n > 0)
             SELECT n FROM s",
            &[&mailbox, &sql_int(up_to)],
        )
        .await?
        .ok_or_else(|| StoreError::Backend("ack returned no row".into()))?;
        from_sql_int(row.try_get(0).db()?)
    }

    async fn sweep_op(&self, now: u64) -> Result<u64, StoreError> {
        let now_sql = sql_int(now);
        let idle_before = sql_int(now.saturating_sub(self.limits.envelope_retention_secs));
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let envelopes = query_opt(
            &tx,
            "WITH d AS (DELETE FROM envelopes WHERE expires_at <= $1
                        RETURNING mailbox, octet_length(envelope) AS len),
                  s AS (SELECT mailbox, COUNT(*) AS n, SUM(len)::BIGINT AS b
                        FROM d GROUP BY mailbox),
                  u AS (UPDATE mailboxes m SET envelopes = m.envelopes - s.n,
                            bytes = m.bytes - s.b
                        FROM s WHERE m.mailbox = s.mailbox)
             SELECT COALESCE(SUM(n), 0)::BIGINT FROM s",
            &[&now_sql],
        )
        .await?
        .ok_or_else(|| StoreError::Backend("sweep returned no row".into()))?;
        let mut deleted = from_sql_int(envelopes.try_get(0).db()?)?;
        for sql in [
            "DELETE FROM one_time_keys WHERE owner IN
                 (SELECT owner FROM bundles WHERE expires_at <= $1)",
            "DELETE FROM bundles WHERE expires_at <= $1",
        ] {
            deleted += execute(&tx, sql, &[&now_sql]).await?;
        }
        for sql in [
            "DELETE FROM mailboxes WHERE envelopes = 0 AND last_used <= $1",
            // A slot goes when its commit's envelope expires: `closed_at + retention <= now`.
            "DELETE FROM commit_slots WHERE closed_at <= $1",
        ] {
            deleted += execute(&tx, sql, &[&idle_before]).await?;
        }
        tx.commit().await.db()?;
        Ok(deleted)
    }

    async fn register_op(
        &self,
        owner: Id,
        generation: u32,
        bucket: u32,
        entry: Entry,
    ) -> Result<(), StoreError> {
        let owner: &[u8] = &owner;
        let tag: &[u8] = &entry.tag;
        let generation = i64::from(generation);
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))",
            &[&owner],
        )
        .await?;
        let others = query_opt(
            &tx,
            "SELECT COUNT(*) FROM registrations
             WHERE owner = $1 AND generation = $2 AND tag <> $3",
            &[&owner, &generation, &tag],
        )
        .await?
        .ok_or_else(|| StoreError::Backend("count returned no row".into()))?;
        if from_sql_int(others.try_get(0).db()?)? >= self.limits.registrations_per_owner {
            tx.rollback().await.db()?;
            return Err(StoreError::TooManyRegistrations);
        }
        execute(
            &tx,
            "INSERT INTO registrations (owner, generation, tag, bucket, record)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (owner, generation, tag) DO UPDATE SET bucket = EXCLUDED.bucket,
                 record = EXCLUDED.record",
            &[&owner, &generation, &tag, &i64::from(bucket), &entry.record],
        )
        .await?;
        // Registrations of different owners into one bucket serialise on the bucket (the
        // two-key advisory locks are a separate space from the owner locks above; one lock
        // per bucket number for every generation: they differ only during a rotation).
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock(17, $1::INT4)",
            &[&i32::from_ne_bytes(bucket.to_ne_bytes())],
        )
        .await?;
        let in_bucket = query_opt(
            &tx,
            "SELECT COUNT(*) FROM registrations WHERE generation = $1 AND bucket = $2",
            &[&generation, &i64::from(bucket)],
        )
        .await?
        .ok_or_else(|| StoreError::Backend("count returned no row".into()))?;
        if from_sql_int(in_bucket.try_get(0).db()?)? > self.limits.bucket_entries {
            tx.rollback().await.db()?;
            return Err(StoreError::BucketFull);
        }
        tx.commit().await.db()
    }

    async fn dump_op(&self) -> Result<Vec<Table>, StoreError> {
        let mut client = self.client().await?;
        // One snapshot for every table.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()?;
        let names: Vec<String> = tx
            .query(
                "SELECT table_name::TEXT FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                 ORDER BY table_name",
                &[],
            )
            .await
            .db()?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .db()?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let stmt = tx
                .prepare(&format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))
                .await
                .db()?;
            let columns: Vec<(String, Type)> = stmt
                .columns()
                .iter()
                .map(|c| (c.name().to_owned(), c.type_().clone()))
                .collect();
            let mut rows = Vec::new();
            for row in tx.query(&stmt, &[]).await.db()? {
                let mut values = Vec::with_capacity(columns.len());
                for (i, (_, ty)) in columns.iter().enumerate() {
                    values.push(value_of(&row, i, ty)?);
                }
                rows.push(values);
            }
            tables.push(Table {
                name,
                columns: columns.into_iter().map(|(n, _)| n).collect(),
                rows,
            });
        }
        tx.commit().await.db()?;
        Ok(tables)
    }
}

fn value_of(row: &Row, i: usize, ty: &Type) -> Result<Value, StoreError> {
    let value = if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)
            .db()?
            .map(|v| Value::Int(v.into()))
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .db()?
            .map(|v| Value::Int(v.into()))
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).db()?.map(Value::Int)
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i).db()?.map(Value::Bytes)
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
        row.try_get::<_, Option<String>>(i).db()?.map(Value::Text)
    } else {
        Some(Value::Text(format!("<{} value>", ty.name())))
    };
    Ok(value.unwrap_or(Value::Null))
}

impl Store for PostgresStore {
    fn put_bundle(
        &self,
        owner: Id,
        record: BundleRecord,
        reset_pool: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.put_bundle_op(owner, record, reset_pool)
    }

    async fn get_bundle(&self, owner: Id) -> Result<Option<BundleRecord>, StoreError> {
        let owner: &[u8] = &owner;
        let client = self.client().await?;
        query_opt(
            &client,
            "SELECT issued_at, expires_at, publication FROM bundles WHERE owner = $1",
            &[&owner],
        )
        .await?
        .map(|row| bundle_of(&row))
        .transpose()
    }

    fn add_one_time_keys(
        &self,
        owner: Id,
        issued_at: u64,
        x25519: Vec<(u32, Vec<u8>)>,
        kem: Vec<(u32, Vec<u8>)>,
    ) -> impl Future<Output = Result<PoolCounts, StoreError>> + Send {
        self.add_one_time_keys_op(
            owner,
            issued_at,
            [(KeyKind::X25519, x25519), (KeyKind::Kem, kem)],
        )
    }

    fn claim(
        &self,
        owner: Id,
        now: u64,
    ) -> impl Future<Output = Result<Option<Claimed>, StoreError>> + Send {
        self.claim_op(owner, now)
    }

    async fn pool_counts(&self, owner: Id) -> Result<PoolCounts, StoreError> {
        let client = self.client().await?;
        pool_counts(&client, &owner).await
    }

    fn delete_owner(&self, owner: Id) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.delete_owner_op(owner)
    }

    fn deposit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.deposit_op(mailbox, envelope, now, false)
    }

    fn commit(
        &self,
        mailbox: Id,
        envelope: Vec<u8>,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.deposit_op(mailbox, envelope, now, true)
    }

    fn fetch(
        &self,
        mailbox: Id,
        after: u64,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Stored>, StoreError>> + Send {
        self.fetch_op(mailbox, after, limit, now)
    }

    fn ack(&self, mailbox: Id, up_to: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.ack_op(mailbox, up_to)
    }

    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.sweep_op(now)
    }

    fn register(
        &self,
        owner: Id,
        generation: u32,
        bucket: u32,
        entry: Entry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.register_op(owner, generation, bucket, entry)
    }

    async fn deregister(&self, owner: Id) -> Result<u64, StoreError> {
        let owner: &[u8] = &owner;
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM registrations WHERE owner = $1",
            &[&owner],
        )
        .await
    }

    async fn bucket(&self, generation: u32, bucket: u32) -> Result<Vec<Entry>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT tag, record FROM registrations WHERE generation = $1 AND bucket = $2
             ORDER BY tag, record",
            &[&i64::from(generation), &i64::from(bucket)],
        )
        .await?
        .iter()
        .map(|row| {
            let tag: Vec<u8> = row.try_get(0).db()?;
            Ok(Entry {
                tag: tag_from(&tag)?,
                record: row.try_get(1).db()?,
            })
        })
        .collect()
    }

    async fn drop_generations_before(&self, generation: u32) -> Result<u64, StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM registrations WHERE generation < $1",
            &[&i64::from(generation)],
        )
        .await
    }

    fn dump(&self) -> impl Future<Output = Result<Vec<Table>, StoreError>> + Send {
        self.dump_op()
    }
}
