//! See `blindrelay::fuzzing::relay_api_decode` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::relay_api_decode(data));
