//! Decodes a handshake initial message; whatever decodes must re-encode to the identical
//! bytes (canonical encoding, spec §2.4).
#![no_main]

use blindrelay::codec::{Decode, Encode};
use blindrelay::wire::InitialMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = InitialMessage::decode_exact(data) {
        assert_eq!(
            msg.to_bytes(),
            data,
            "non-canonical initial message accepted"
        );
    }
});
