//! See `blindrelay::fuzzing::group_envelope` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::group_envelope(data));
