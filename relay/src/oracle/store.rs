//! The oracle's storage (spec §14.6): one trait shaped by its operations, with a SQLite
//! backend (the default) and a Postgres backend (several oracle processes over one
//! database), which pass the same suite (`tests/oracle_store.rs`).
//!
//! What it holds, and nothing else:
//!
//! - `oracle_state(id = 1, key_epoch)`: the current key epoch. The key of epoch `e` is
//!   `OracleKey::derive(seed, e)`; the seed is in the key file (`oracle.key`), never here.
//! - `oracle_usage(relay, day, used)`: per relay (the configured name of its credential)
//!   and UTC day (`now / 86400`), how many elements it had evaluated. No element, no
//!   request, no address, no time finer than the day.

use crate::store::sqlite::{from_sql_int, sql_int};
use crate::store::StoreError;
use core::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The epoch a fresh store starts at.
pub const FIRST_KEY_EPOCH: u32 = 1;

/// The oracle's storage. Every method is one atomic operation, durable when it resolves
/// `Ok`, or no change at all.
pub trait OracleStore: Send + Sync + 'static {
    /// The current key epoch ([`FIRST_KEY_EPOCH`] in a fresh store).
    fn key_epoch(&self) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Key rotation (spec §14.6): increments the key epoch and returns the new one.
    /// [`StoreError::Backend`] once the epoch is `u32::MAX`.
    fn rotate(&self) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Charges `n` elements to `relay`'s usage of `day` if the total stays at most
    /// `budget`, atomically (one conditional upsert): `true` if charged, `false` (nothing
    /// changed) if it would exceed the budget. Concurrent charges never overshoot.
    fn charge(
        &self,
        relay: String,
        day: u64,
        n: u64,
        budget: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Elements charged to `relay` on `day` (0 if none).
    fn usage(
        &self,
        relay: String,
        day: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes usage rows of days before `before_day`; returns how many.
    fn sweep(&self, before_day: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oracle_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_epoch INTEGER NOT NULL
);
INSERT OR IGNORE INTO oracle_state (id, key_epoch) VALUES (1, 1);
CREATE TABLE IF NOT EXISTS oracle_usage (
    relay TEXT NOT NULL,
    day INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (relay, day)
);
";

/// The statement that charges: inserts the day's row if `n` fits the budget, or adds `n`
/// to it if the sum does; `changes() = 1` means charged.
const SQLITE_CHARGE: &str = "
INSERT INTO oracle_usage (relay, day, used) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
ON CONFLICT (relay, day) DO UPDATE SET used = oracle_usage.used + excluded.used
WHERE oracle_usage.used + excluded.used <= ?4";

const ROTATE: &str = "UPDATE oracle_state SET key_epoch = key_epoch + 1 \
    WHERE id = 1 AND key_epoch < 4294967295 RETURNING key_epoch";

fn sqlite<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Backend(format!("sqlite: {e}")))
}

fn epoch_of(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Backend("key epoch out of range".into()))
}

/// The SQLite backend: one connection behind a mutex, each operation on the blocking pool
/// in one statement or transaction. WAL and `synchronous=FULL`, so a charge that resolved
/// `Ok` survives a crash, and `blindrelay-oracle rotate` can run while the oracle serves.
#[derive(Clone)]
pub struct SqliteOracleStore {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl core::fmt::Debug for SqliteOracleStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteOracleStore").finish_non_exhaustive()
    }
}

impl SqliteOracleStore {
    /// Opens (creating if absent) the database at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the file cannot be opened or the schema created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = sqlite(rusqlite::Connection::open(path))?;
        sqlite(conn.pragma_update(None, "journal_mode", "WAL"))?;
        Self::init(conn)
    }

    /// A private in-memory database (tests).
    ///
    /// # Errors
    /// As [`SqliteOracleStore::open`].
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(sqlite(rusqlite::Connection::open_in_memory())?)
    }

    fn init(conn: rusqlite::Connection) -> Result<Self, StoreError> {
        sqlite(conn.pragma_update(None, "synchronous", "FULL"))?;
        sqlite(conn.busy_timeout(std::time::Duration::from_secs(5)))?;
        sqlite(conn.execute_batch(SQLITE_SCHEMA))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| StoreError::Backend("sqlite connection poisoned".into()))?;
            op(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task: {e}")))?
    }
}

impl OracleStore for SqliteOracleStore {
    fn key_epoch(&self) -> impl Future<Output = Result<u32, StoreError>> + Send {
        self.run(|c| {
            epoch_of(sqlite(c.query_row(
                "SELECT key_epoch FROM oracle_state WHERE id = 1",
                [],
                |r| r.get(0),
            ))?)
        })
    }

    fn rotate(&self) -> impl Future<Output = Result<u32, StoreError>> + Send {
        self.run(|c| {
            use rusqlite::OptionalExtension;
            let next: Option<i64> = sqlite(c.query_row(ROTATE, [], |r| r.get(0)).optional())?;
            epoch_of(next.ok_or_else(|| StoreError::Backend("key epoch exhausted".into()))?)
        })
    }

    fn charge(
        &self,
        relay: String,
        day: u64,
        n: u64,
        budget: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.run(move |c| {
            let changed = sqlite(c.execute(
                SQLITE_CHARGE,
                rusqlite::params![relay, sql_int(day), sql_int(n), sql_int(budget)],
            ))?;
            Ok(changed == 1)
        })
    }

    fn usage(
        &self,
        relay: String,
        day: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.run(move |c| {
            use rusqlite::OptionalExtension;
            let used: Option<i64> = sqlite(
                c.query_row(
                    "SELECT used FROM oracle_usage WHERE relay = ?1 AND day = ?2",
                    rusqlite::params![relay, sql_int(day)],
                    |r| r.get(0),
                )
                .optional(),
            )?;
            from_sql_int(used.unwrap_or(0))
        })
    }

    fn sweep(&self, before_day: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.run(move |c| {
            let n = sqlite(c.execute(
                "DELETE FROM oracle_usage WHERE day < ?1",
                [sql_int(before_day)],
            ))?;
            Ok(n as u64)
        })
    }
}

const POSTGRES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oracle_state (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    key_epoch BIGINT NOT NULL
);
INSERT INTO oracle_state (id, key_epoch) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS oracle_usage (
    relay TEXT NOT NULL,
    day BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (relay, day)
);
";

const POSTGRES_CHARGE: &str = "
INSERT INTO oracle_usage (relay, day, used)
SELECT $1::TEXT, $2::BIGINT, $3::BIGINT WHERE $3::BIGINT <= $4::BIGINT
ON CONFLICT (relay, day) DO UPDATE SET used = oracle_usage.used + EXCLUDED.used
WHERE oracle_usage.used + EXCLUDED.used <= $4::BIGINT";

/// Arbitrary key of the advisory lock that serialises the oracle's schema creation.
const SCHEMA_LOCK: i64 = 0x6f72_6163_6c65_5f31;

/// Connections the oracle's pool keeps open at most.
pub const POSTGRES_POOL_SIZE: usize = 4;

fn pg<T>(r: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
    // SQLSTATE and message only, never DETAIL (which can quote values).
    r.map_err(|e| match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("postgres {}: {}", db.code().code(), db.message())),
        None => StoreError::Backend(format!("postgres: {e}")),
    })
}

/// The Postgres backend: a small pool, each operation one statement at `READ COMMITTED`.
/// `charge` is one `INSERT … ON CONFLICT DO UPDATE … WHERE`: the conflicting row is locked
/// and the budget condition re-checked on its latest version, so concurrent charges from
/// several oracle processes never overshoot.
pub struct PostgresOracleStore {
    pool: deadpool_postgres::Pool,
    schema: Option<String>,
}

impl core::fmt::Debug for PostgresOracleStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresOracleStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresOracleStore {
    /// Connects to `url` (no TLS, as the relay's backend) and creates the tables.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the URL is invalid or the database unreachable.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::build(url, None).await
    }

    /// Like [`connect`](Self::connect), with every table in the schema `schema` (a
    /// lowercase identifier), for tests.
    ///
    /// # Errors
    /// As [`connect`](Self::connect), or an invalid schema name.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let mut chars = schema.chars();
        let valid = matches!(chars.next(), Some('a'..='z' | '_'))
            && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
            && schema.len() <= 63;
        if !valid {
            return Err(StoreError::Backend("invalid schema name".into()));
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
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POSTGRES_POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))?;
        let store = Self { pool, schema };
        let mut client = store.client().await?;
        let tx = pg(client.transaction().await)?;
        pg(tx
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await)?;
        if let Some(schema) = &store.schema {
            pg(tx
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await)?;
        }
        pg(tx.batch_execute(POSTGRES_SCHEMA).await)?;
        pg(tx.commit().await)?;
        drop(client);
        Ok(store)
    }

    /// Drops this store's dedicated schema (the end of a test).
    ///
    /// # Errors
    /// [`StoreError::Backend`] without a dedicated schema, or if the database refuses.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        let Some(schema) = &self.schema else {
            return Err(StoreError::Backend("no dedicated schema".into()));
        };
        pg(self
            .client()
            .await?
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))
    }
}

impl OracleStore for PostgresOracleStore {
    async fn key_epoch(&self) -> Result<u32, StoreError> {
        let row = pg(self
            .client()
            .await?
            .query_one("SELECT key_epoch FROM oracle_state WHERE id = 1", &[])
            .await)?;
        epoch_of(pg(row.try_get(0))?)
    }

    async fn rotate(&self) -> Result<u32, StoreError> {
        let row = pg(self.client().await?.query_opt(ROTATE, &[]).await)?
            .ok_or_else(|| StoreError::Backend("key epoch exhausted".into()))?;
        epoch_of(pg(row.try_get(0))?)
    }

    async fn charge(
        &self,
        relay: String,
        day: u64,
        n: u64,
        budget: u64,
    ) -> Result<bool, StoreError> {
        let changed = pg(self
            .client()
            .await?
            .execute(
                POSTGRES_CHARGE,
                &[&relay, &sql_int(day), &sql_int(n), &sql_int(budget)],
            )
            .await)?;
        Ok(changed == 1)
    }

    async fn usage(&self, relay: String, day: u64) -> Result<u64, StoreError> {
        let row = pg(self
            .client()
            .await?
            .query_opt(
                "SELECT used FROM oracle_usage WHERE relay = $1 AND day = $2",
                &[&relay, &sql_int(day)],
            )
            .await)?;
        match row {
            Some(row) => from_sql_int(pg(row.try_get(0))?),
            None => Ok(0),
        }
    }

    async fn sweep(&self, before_day: u64) -> Result<u64, StoreError> {
        pg(self
            .client()
            .await?
            .execute(
                "DELETE FROM oracle_usage WHERE day < $1",
                &[&sql_int(before_day)],
            )
            .await)
    }
}
