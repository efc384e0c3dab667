//! See `blindrelay::fuzzing::discovery_state_decode` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::discovery_state_decode(data));
