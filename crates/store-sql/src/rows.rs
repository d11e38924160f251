//! The decoders of the records whose columns read alike on both stores,
//! with the column lists they read: one per record, over either driver's
//! row ([`crate::Columns`]).

pub mod agencies;
pub mod audit;
pub mod events;
pub mod results;
pub mod sessions;
pub mod subjects;
