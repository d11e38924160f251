#![no_main]
//! Fuzz target: see `taskforce_web::fuzzing::json_bodies`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskforce_web::fuzzing::json_bodies(data));
