//! See `blindrelay::fuzzing::envelope_decode` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::envelope_decode(data));
