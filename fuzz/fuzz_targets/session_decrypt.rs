//! See `blindrelay::fuzzing::session_decrypt` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::session_decrypt(data));
