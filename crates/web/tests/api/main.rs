//! HTTP integration tests: the real router on 127.0.0.1:0 against a fresh
//! SQLite file per test. One test binary; a module per area.

mod helpers;
mod matrix;
mod mfa;

mod agencies;
mod auth;
mod errors;
mod events;
mod operations;
mod pages;
mod pages_admin;
mod pages_flags;
mod pages_records;
mod pages_support;
mod results;
mod storage;
mod subjects;
mod trust;
mod users;
