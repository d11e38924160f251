//! API tokens.

use taskforce_core::auth::ApiToken;
use taskforce_core::role::Role;
use taskforce_core::store::StoreError;

use crate::codec::{parse, parse_ts};
use crate::{Columns, R, get};

/// An API token's columns.
pub const TOKEN_COLS: &str =
    "SELECT id, token_hash, user_id, name, roles, created_at, expires_at, revoked_at FROM api_tokens";

/// An API token from a row of [`TOKEN_COLS`].
pub fn token_row(r: &impl Columns) -> R<ApiToken> {
    let roles: String = get(r, "roles")?;
    Ok(ApiToken {
        id: parse("token id", &get::<String>(r, "id")?)?,
        token_hash: get(r, "token_hash")?,
        user_id: parse("user id", &get::<String>(r, "user_id")?)?,
        name: get(r, "name")?,
        roles: roles
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse::<Role>().map_err(StoreError::Other))
            .collect::<R<_>>()?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        expires_at: parse_ts(&get::<String>(r, "expires_at")?)?,
        revoked_at: get::<Option<String>>(r, "revoked_at")?.map(|s| parse_ts(&s)).transpose()?,
    })
}
