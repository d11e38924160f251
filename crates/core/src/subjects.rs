//! Target deconfliction's subjects: the people, phones, vehicles, addresses,
//! businesses and online accounts agencies work (DESIGN §5). So far: the
//! normalisation of identifiers into the one key each is matched by.

pub mod identifiers;
pub mod identity;
pub mod names;
pub mod places;
