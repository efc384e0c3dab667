//! Live pushes to WebSocket subscribers (spec §12.6): a registry from mailbox id to the
//! queues of the connections watching it. A push that does not fit a connection's queue is
//! dropped: the envelope is stored, and the subscriber fetches it.

use blindrelay::codec::Encode;
use blindrelay::relay::Delivery;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// One encoded Delivery frame, shared by every subscriber of its mailbox.
pub type Frame = Arc<Vec<u8>>;

/// The connections watching one mailbox: subscription id and queue.
type Watchers = Vec<(u64, mpsc::Sender<Frame>)>;

/// The subscriber registry.
#[derive(Default)]
pub struct Push {
    next_id: AtomicU64,
    subscribers: Mutex<HashMap<[u8; 32], Watchers>>,
}

impl Push {
    /// Registers `sender` for `mailboxes`; returns the id to [`Push::unsubscribe`] with.
    pub fn subscribe(&self, mailboxes: &[[u8; 32]], sender: &mpsc::Sender<Frame>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut subs) = self.subscribers.lock() {
            for m in mailboxes {
                subs.entry(*m).or_default().push((id, sender.clone()));
            }
        }
        id
    }

    /// Removes subscription `id` from `mailboxes`.
    pub fn unsubscribe(&self, id: u64, mailboxes: &[[u8; 32]]) {
        if let Ok(mut subs) = self.subscribers.lock() {
            for m in mailboxes {
                if let Some(list) = subs.get_mut(m) {
                    list.retain(|(i, _)| *i != id);
                    if list.is_empty() {
                        subs.remove(m);
                    }
                }
            }
        }
    }

    /// Pushes a deposited envelope to the subscribers of `mailbox`.
    pub fn notify(&self, mailbox: &[u8; 32], seq: u64, envelope: &[u8]) {
        let Ok(subs) = self.subscribers.lock() else {
            return;
        };
        let Some(list) = subs.get(mailbox) else {
            return;
        };
        let frame: Frame = Arc::new(
            Delivery {
                mailbox: *mailbox,
                seq,
                envelope: envelope.to_vec(),
            }
            .to_bytes(),
        );
        for (_, sender) in list {
            let _ = sender.try_send(Arc::clone(&frame));
        }
    }

    /// How many mailboxes have at least one subscriber.
    pub fn watched(&self) -> usize {
        self.subscribers.lock().map_or(0, |s| s.len())
    }
}
