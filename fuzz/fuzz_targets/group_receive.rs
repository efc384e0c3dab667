//! The group receive path (spec §15.5, §15.7, §15.8) of a fixed two-member group:
//! the first byte picks the input's role,
//! - 0: a whole group envelope, as the relay would deliver it;
//! - 1: a blind message, sealed under the epoch's wrap key (an insider's bytes), so the
//!   fuzzer reaches the blind-message parser and MLS;
//! - 2: an invite, joined by a member holding a key package.
//!
//! Every refusal must leave the group's state exactly as it was.
#![no_main]

use blindrelay::IdentityKeyPair;
use blindrelay_groups::message::{BlindMessage, Invite};
use blindrelay_groups::{BlindGroup, Change, Member};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;

const NOW: u64 = 1_800_000_000;

struct Fixture {
    bob: BlindGroup,
    carol: Member,
}

fn fixture() -> &'static std::sync::Mutex<Fixture> {
    static F: OnceLock<std::sync::Mutex<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(15);
        let a = IdentityKeyPair::generate(&mut rng);
        let b = IdentityKeyPair::generate(&mut rng);
        let c = IdentityKeyPair::generate(&mut rng);
        let (ma, mb, mc) = (
            Member::new(&a, &mut rng),
            Member::new(&b, &mut rng),
            Member::new(&c, &mut rng),
        );
        let mut ga = ma.create_group(NOW).expect("create");
        let out = ga
            .commit(
                &Change {
                    add: vec![mb.key_package(NOW).expect("kp")],
                    remove: vec![],
                },
                NOW,
            )
            .expect("commit");
        ga.commit_accepted().expect("accept");
        let bob = mb.join(&out.invite.expect("invite"), NOW).expect("join");
        let _ = mc.key_package(NOW).expect("kp");
        std::sync::Mutex::new(Fixture { bob, carol: mc })
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture().lock().unwrap_or_else(|e| e.into_inner());
    match mode % 3 {
        0 | 1 => {
            let envelope = if mode % 3 == 0 {
                rest.to_vec()
            } else {
                let _ = BlindMessage::parse(rest);
                let mut rng = ChaCha20Rng::seed_from_u64(1);
                match f.bob.epoch_keys().seal(rest, &mut rng) {
                    Ok(e) => e.to_bytes(),
                    Err(_) => return,
                }
            };
            let (Ok(before), Ok(mut copy)) = (f.bob.snapshot(), f.bob.snapshot()) else {
                panic!("the fixed group's exporter secret is available");
            };
            match copy.receive(&envelope, NOW) {
                Ok(_) => {}
                Err(_) => assert!(copy.same_state(&before), "a refusal changed the state"),
            }
        }
        _ => {
            if let Ok(inv) = Invite::parse(rest) {
                assert_eq!(inv.to_bytes(), rest, "non-canonical invite accepted");
            }
            let _ = f.carol.join(rest, NOW);
        }
    }
});
