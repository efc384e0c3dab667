//! See `blindrelay::fuzzing::oracle_decode` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::oracle_decode(data));
