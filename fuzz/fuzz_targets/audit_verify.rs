#![no_main]
//! Fuzz target: see `taskforce_core::fuzzing::audit_verify`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| taskforce_core::fuzzing::audit_verify(data));
