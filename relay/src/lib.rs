//! The reference blindrelay relay (spec §12): an HTTP and WebSocket server over the pure
//! `blindrelay` library, storing only what spec §11 allows, on SQLite (default) or Postgres.
#![forbid(unsafe_code)]

pub mod limits;
pub mod store;
