//! Shared setup for the benchmarks: a party with a bundle, and a session pair.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use blindrelay::keys::{
    KemPrekeySecret, OneTimeKemPrekeySecret, OneTimePrekeySecret, SealingKeySecret,
    SignedPrekeySecret,
};
use blindrelay::{
    accept, initiate, BundleKeys, IdentityKeyPair, MemoryPrekeyStore, PrekeyBundle, Session,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub struct Party {
    pub identity: IdentityKeyPair,
    pub sealing: SealingKeySecret,
    pub store: MemoryPrekeyStore,
    pub bundle: PrekeyBundle,
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn party(rng: &mut ChaCha20Rng, one_time: bool) -> Party {
    let identity = IdentityKeyPair::generate(rng);
    let sealing = SealingKeySecret::generate(rng);
    let spk = SignedPrekeySecret::generate(rng);
    let kem = KemPrekeySecret::generate(rng);
    let opk = OneTimePrekeySecret::generate(rng);
    let otk = OneTimeKemPrekeySecret::generate(rng);
    let bundle = PrekeyBundle::create(&BundleKeys {
        identity: &identity,
        mailbox: [7; 32],
        sealing: &sealing,
        signed_prekey: (1, &spk),
        kem_prekey: (2, &kem),
        one_time_prekey: one_time.then_some((3, &opk)),
        one_time_kem_prekey: one_time.then_some((4, &otk)),
    });
    let mut store = MemoryPrekeyStore::new();
    store.insert_signed_prekey(1, spk);
    store.insert_kem_prekey(2, kem);
    if one_time {
        store.insert_one_time_prekey(3, opk);
        store.insert_one_time_kem_prekey(4, otk);
    }
    Party {
        identity,
        sealing,
        store,
        bundle,
    }
}

/// A session pair after one round trip (neither side pending).
pub fn session_pair(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let alice = party(rng, false);
    let mut bob = party(rng, false);
    let verified = bob.bundle.clone().verify().unwrap();
    let mut a = initiate(
        rng,
        &alice.identity,
        &alice.bundle.identity_record(),
        &verified,
    )
    .unwrap();
    let first = a.encrypt(rng, b"hi").unwrap();
    let (mut b, _) = accept(&bob.identity, &mut bob.store, &first).unwrap();
    let reply = b.encrypt(rng, b"hi").unwrap();
    a.decrypt(&reply).unwrap();
    (a, b)
}
