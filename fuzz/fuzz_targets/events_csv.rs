#![no_main]
//! Fuzz target: see `taskforce_core::fuzzing::events_csv`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskforce_core::fuzzing::events_csv(data));
