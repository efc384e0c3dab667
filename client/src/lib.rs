#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod core;
mod error;
pub mod store;

pub use client::{
    BundleSource, Ch2Ids, Ch2Pending, Client, Maintenance, OneTimePrekeys, Outcome, PrekeyPolicy,
    Received, FRAME_MESSAGE, FRAME_MESSAGE_WITH_RECORD, FRAME_RESET, MAX_MESSAGE_LEN,
    MAX_PREVIOUS_SESSIONS,
};
pub use error::Error;
pub use rand_core::OsRng;
pub use store::{MemoryStore, SqliteStore, Store, StoreTx};
