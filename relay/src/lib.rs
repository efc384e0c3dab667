//! The reference blindrelay relay (spec §12): an HTTP and WebSocket server over the pure
//! `blindrelay` library, storing only what spec §11 allows, on SQLite (default) or Postgres.
//!
//! - [`app`]: the endpoints; handlers decode with the core's codec, run the core's checks,
//!   call one [`store::Store`] operation and encode the answer.
//! - [`store`]: the storage trait and its two backends.
//! - [`ws`]: WebSocket push. [`push`]: the subscriber registry.
//! - [`limits`]: every bound, one constant each. [`config`]: one configuration struct.
//! - [`server`]: start and stop; [`log`]: the request log (no client data).
//! - [`oprf`]: the relay's OPRF endpoint for suite `ch2` (spec §14.5): the `0x30` request,
//!   the per-account quota, the link to the oracle.
//! - [`oracle`]: the `ch2` oracle service itself (spec §14), binary `blindrelay-oracle`.
#![forbid(unsafe_code)]

pub mod app;
pub mod client;
pub mod clock;
pub mod config;
pub mod conformance;
pub mod limits;
pub mod log;
pub mod oprf;
pub mod oracle;
pub mod push;
mod rate;
pub mod server;
pub mod store;
pub mod ws;

pub use app::{router, RateLimits, Relay};
pub use client::{ClientError, OracleClient, RelayClient};
pub use clock::Clock;
pub use config::{Backend, Config, OracleSettings};
pub use oprf::OracleLink;
pub use server::{relay_with, start, Running};
