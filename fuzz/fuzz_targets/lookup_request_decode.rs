//! See `blindrelay::fuzzing::lookup_request_decode` for the oracle.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blindrelay::fuzzing::lookup_request_decode(data));
