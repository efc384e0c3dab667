//! `Client::publication`: the bundle signed for the relay's `POST /v1/publish`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use blindrelay::relay::PublishRequest;
use blindrelay_client::{Client, MemoryStore};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn a_publication_passes_the_relays_publish_checks() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let now = 1_800_000_000;
    let mut client = Client::create(&mut rng, MemoryStore::new(), now).unwrap();
    let publication = client.publication(now, now + 7 * 24 * 3600).unwrap();
    assert_eq!(publication.issued_at(), now);
    assert_eq!(publication.bundle().mailbox, *client.mailbox());
    assert_eq!(publication.bundle().identity, *client.identity());
    // The bundle it signs is the client's, without one-time prekeys.
    let bundle = client.bundle().unwrap();
    assert!(bundle.one_time_prekey.is_none());
    assert_eq!(*publication.bundle(), bundle);
    let request = PublishRequest {
        capability: client.public_capability().unwrap(),
        publication,
    };
    // The checks a relay runs: signature and window at its clock, then ownership.
    request.check(now + 60).unwrap();
    // An empty window is refused.
    assert!(client.publication(now, now).is_err());
}
