//! Taskforce core: the domain of a joint anti-trafficking operation.
//!
//! This crate owns the rules. It defines the domain types with validated
//! constructors, the access policy (`policy::can`), the `Store` trait that the
//! storage crates implement, and the use cases (`service`), each of which takes
//! an [`Actor`](actor::Actor) and runs in one store transaction. It performs no
//! I/O of its own and depends on no async runtime.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod actor;
pub mod agency;
pub mod aggregate;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod demo;
pub mod error;
pub mod events;
pub mod figures;
pub mod format;
pub mod fuzzing;
pub mod ids;
pub mod keys;
pub mod nibrs;
pub mod operation;
pub mod page;
pub mod password;
pub mod policy;
pub mod release;
pub mod results;
pub mod role;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod seal;
pub mod service;
pub mod states;
pub mod store;
pub mod subjects;
pub mod support;
pub mod tally;
#[cfg(test)]
mod test_rng;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod token;
pub mod totp;
pub mod user;
pub mod validate;

pub use error::{Error, FieldError};
