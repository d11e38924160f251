//! Agencies.

use taskforce_core::agency::{Agency, DutyContact, Ori};
use taskforce_core::store::StoreError;

use crate::codec::{parse, parse_ts, state};
use crate::{Columns, R, get};

/// An agency's columns.
pub const AGENCY_COLS: &str =
    "SELECT id, name, short_name, kind, home_state, ori, duty_name, duty_phone, created_at, updated_at FROM agencies";

/// An agency from a row of [`AGENCY_COLS`].
pub fn agency_row(row: &impl Columns) -> R<Agency> {
    let ori: Option<String> = get(row, "ori")?;
    Ok(Agency {
        id: parse("agency id", &get::<String>(row, "id")?)?,
        name: get(row, "name")?,
        short_name: get(row, "short_name")?,
        kind: get::<String>(row, "kind")?.parse().map_err(|_| StoreError::Other("bad stored agency kind".into()))?,
        home_state: state(&get::<String>(row, "home_state")?)?,
        ori: ori.map(|o| Ori::parse(&o).map_err(|_| StoreError::Other("bad stored ORI".into()))).transpose()?,
        duty_contact: DutyContact { name: get(row, "duty_name")?, phone: get(row, "duty_phone")? },
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
    })
}
