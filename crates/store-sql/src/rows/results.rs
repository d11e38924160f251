//! Result records, tallies and releases.

use jiff::Timestamp;
use taskforce_core::aggregate::{Resolution, Tally};
use taskforce_core::ids::UserId;
use taskforce_core::release::{Release, ReleaseStatus};
use taskforce_core::results::ResultRecord;
use taskforce_core::store::StoreError;

use crate::codec::{json, parse, parse_ts, state};
use crate::{Columns, R, get};

/// A result record version's columns.
pub const RESULT_COLS: &str = "SELECT id, version, operation_id, agency_id, state, occurred_at, detail, identity, void, \
                           reason, recorded_by, recorded_at FROM result_versions";

/// A tally's columns, with its void if any.
pub const TALLY_COLS: &str = "SELECT id, operation_id, state, agency_id, whole_state, as_of, figures, tallies.reason, \
                          source_text, recorded_by, recorded_at, v.by_name AS void_by, v.at AS void_at, \
                          v.reason AS void_reason FROM tallies LEFT JOIN tally_voids v ON v.tally_id = tallies.id";

/// A release's columns.
pub const RELEASE_COLS: &str = "SELECT id, operation_id, status, content, changes, version, sha256, drafted_by, \
                            drafted_at, approved_by, approved_at, published_by, published_at FROM releases";

/// A nullable user id column.
pub fn opt_user(row: &impl Columns, col: &str) -> R<Option<UserId>> {
    get::<Option<String>>(row, col)?.map(|u| parse("user id", &u)).transpose()
}

/// A result record from a row of [`RESULT_COLS`].
pub fn result_row(r: &impl Columns) -> R<ResultRecord> {
    Ok(ResultRecord {
        id: parse("result id", &get::<String>(r, "id")?)?,
        version: u32::try_from(get::<i64>(r, "version")?).unwrap_or(0),
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        state: state(&get::<String>(r, "state")?)?,
        occurred_at: parse_ts(&get::<String>(r, "occurred_at")?)?,
        detail: json(&get::<String>(r, "detail")?)?,
        identity: get(r, "identity")?,
        void: get::<i64>(r, "void")? != 0,
        reason: get(r, "reason")?,
        recorded_by: opt_user(r, "recorded_by")?,
        recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
    })
}

/// A tally from a row of [`TALLY_COLS`].
pub fn tally_row(r: &impl Columns) -> R<Tally> {
    Ok(Tally {
        id: parse("tally id", &get::<String>(r, "id")?)?,
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        state: get::<Option<String>>(r, "state")?.map(|s| state(&s)).transpose()?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        whole_state: get::<i64>(r, "whole_state")? != 0,
        as_of: parse_ts(&get::<String>(r, "as_of")?)?,
        figures: json(&get::<String>(r, "figures")?)?,
        reason: get(r, "reason")?,
        source_text: get(r, "source_text")?,
        recorded_by: opt_user(r, "recorded_by")?,
        recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
        void: match get::<Option<String>>(r, "void_at")? {
            None => None,
            Some(at) => Some(Resolution {
                key: String::new(),
                fingerprint: String::new(),
                by: get(r, "void_by")?,
                at: parse_ts(&at)?,
                reason: get(r, "void_reason")?,
                stands: None,
            }),
        },
    })
}

/// A release from a row of [`RELEASE_COLS`].
pub fn release_row(r: &impl Columns) -> R<Release> {
    let opt_ts =
        |col: &str| -> R<Option<Timestamp>> { get::<Option<String>>(r, col)?.map(|s| parse_ts(&s)).transpose() };
    Ok(Release {
        id: parse("release id", &get::<String>(r, "id")?)?,
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        status: ReleaseStatus::parse(&get::<String>(r, "status")?)
            .ok_or_else(|| StoreError::Other("bad stored release status".into()))?,
        content: json(&get::<String>(r, "content")?)?,
        changes: json(&get::<String>(r, "changes")?)?,
        version: get::<Option<i64>>(r, "version")?.map(|v| u32::try_from(v).unwrap_or(0)),
        sha256: get(r, "sha256")?,
        drafted_by: opt_user(r, "drafted_by")?,
        drafted_at: parse_ts(&get::<String>(r, "drafted_at")?)?,
        approved_by: opt_user(r, "approved_by")?,
        approved_at: opt_ts("approved_at")?,
        published_by: opt_user(r, "published_by")?,
        published_at: opt_ts("published_at")?,
    })
}
