//! See `blindrelay::fuzzing::contact_region` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::contact_region(data));
