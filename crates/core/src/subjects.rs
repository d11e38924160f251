//! Target deconfliction's subjects: the people, phones, vehicles, addresses,
//! businesses and online accounts agencies work (DESIGN §5). So far: the
//! normalisation of identifiers into the keys they are matched by, person
//! names and their fuzzy comparison, the blind index's key, the in-memory
//! subject index, and lists matched against themselves.

pub mod batch;
pub mod blind;
pub mod identifiers;
pub mod identity;
pub mod index;
pub mod names;
pub mod places;
pub mod registry;
