//! A blind relay in a test: epoch mailboxes and first-writer-wins commit slots, exactly the
//! checks of spec §15.6, recording every byte it is given.

#![allow(
    missing_docs,
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use blindrelay::envelope::RelayEnvelope;
use blindrelay::group::CommitRequest;
use blindrelay::Error;
use std::collections::{HashMap, HashSet};

/// Everything the relay was given, in order.
#[derive(Clone, Debug)]
pub enum Seen {
    Deposit(Vec<u8>),
    Commit(Vec<u8>),
    Fetch([u8; 32]),
}

#[derive(Default)]
pub struct TestRelay {
    pub mailboxes: HashMap<[u8; 32], Vec<Vec<u8>>>,
    pub closed: HashSet<[u8; 32]>,
    pub seen: Vec<Seen>,
}

impl TestRelay {
    pub fn deposit(&mut self, envelope: &[u8]) -> Result<(), Error> {
        self.seen.push(Seen::Deposit(envelope.to_vec()));
        let mailbox = *RelayEnvelope::parse(envelope)?.mailbox();
        if self.closed.contains(&mailbox) {
            return Err(Error::EpochClosed);
        }
        self.mailboxes
            .entry(mailbox)
            .or_default()
            .push(envelope.to_vec());
        Ok(())
    }

    pub fn commit(&mut self, request: &[u8]) -> Result<(), Error> {
        self.seen.push(Seen::Commit(request.to_vec()));
        let req = CommitRequest::parse(request)?;
        req.check()?;
        let mailbox = *req.envelope().mailbox();
        if !self.closed.insert(mailbox) {
            return Err(Error::CommitSlotTaken);
        }
        self.mailboxes
            .entry(mailbox)
            .or_default()
            .push(req.envelope().to_bytes());
        Ok(())
    }

    pub fn fetch(&mut self, capability: &blindrelay::route::ReadCapability) -> Vec<Vec<u8>> {
        let mailbox = capability.mailbox();
        self.seen.push(Seen::Fetch(mailbox));
        self.mailboxes.get(&mailbox).cloned().unwrap_or_default()
    }
}
