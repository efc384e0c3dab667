//! See `blindrelay::fuzzing::session_state` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::session_state(data));
