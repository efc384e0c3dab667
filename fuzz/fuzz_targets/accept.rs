//! See `blindrelay::fuzzing::accept` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::accept(data));
