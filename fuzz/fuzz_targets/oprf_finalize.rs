//! See `blindrelay::fuzzing::oprf_finalize` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::oprf_finalize(data));
