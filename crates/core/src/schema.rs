//! OpenAPI schemas the derive cannot write (feature `openapi`): a list of words
//! drawn from one of the core's closed sets, so the document names the choices
//! the core itself accepts.

use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, Type};

/// An array whose items are each one of `words`.
pub fn word_array<'a>(words: impl IntoIterator<Item = &'a str>) -> Array {
    let item = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(words));
    ArrayBuilder::new().items(item).build()
}

/// The roles a user may hold.
pub fn roles() -> Array {
    word_array(crate::role::Role::ALL.iter().map(|r| r.as_str()))
}

/// Where a victim may be referred.
pub fn referrals() -> Array {
    word_array(crate::results::Referral::ALL.iter().map(|r| r.as_str()))
}
