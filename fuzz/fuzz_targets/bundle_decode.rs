//! Decodes a prekey bundle; whatever decodes must re-encode to the identical bytes
//! (canonical encoding, spec §2.4), and verification must not panic.
#![no_main]

use blindrelay::codec::{Decode, Encode};
use blindrelay::PrekeyBundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PrekeyBundle::decode_exact(data) {
        assert_eq!(
            bundle.to_bytes(),
            data,
            "non-canonical bundle encoding accepted"
        );
        let _ = bundle.verify();
    }
});
