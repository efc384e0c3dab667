//! See `blindrelay::fuzzing::pairwise_open` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::pairwise_open(data));
