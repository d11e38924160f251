//! Audit records.

use taskforce_core::audit::AuditRecord;

use crate::codec::parse_ts;
use crate::{Columns, R, get};

/// An audit record's columns.
pub const AUDIT_COLS: &str = "SELECT seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
                          object_type, object_id, outcome, detail, prev_hash, hash, keyed FROM audit_log";

/// An audit record from a row of [`AUDIT_COLS`].
pub fn audit_row(r: &impl Columns) -> R<AuditRecord> {
    Ok(AuditRecord {
        seq: u64::try_from(get::<i64>(r, "seq")?).unwrap_or(0),
        at: parse_ts(&get::<String>(r, "at")?)?,
        actor: get(r, "actor")?,
        actor_user_id: get(r, "actor_user_id")?,
        actor_agency_id: get(r, "actor_agency_id")?,
        source: get(r, "source")?,
        request_id: get(r, "request_id")?,
        action: get(r, "action")?,
        object_type: get(r, "object_type")?,
        object_id: get(r, "object_id")?,
        outcome: get(r, "outcome")?,
        detail: get(r, "detail")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
        keyed: get::<i64>(r, "keyed")? != 0,
    })
}

/// An `INSERT` of `records` into the audit log, in order, for either
/// driver: one statement, with as many rows as records (keep a batch well
/// under the bound parameters a statement may hold, 15 a record).
pub fn audit_insert<DB: sqlx::Database>(records: &[AuditRecord]) -> sqlx::QueryBuilder<DB>
where
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "INSERT INTO audit_log (seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
         object_type, object_id, outcome, detail, prev_hash, hash, keyed) ",
    );
    q.push_values(records, |mut b, r| {
        b.push_bind(i64::try_from(r.seq).unwrap_or(i64::MAX))
            .push_bind(crate::codec::ts(r.at))
            .push_bind(r.actor.clone())
            .push_bind(r.actor_user_id.clone())
            .push_bind(r.actor_agency_id.clone())
            .push_bind(r.source.clone())
            .push_bind(r.request_id.clone())
            .push_bind(r.action.clone())
            .push_bind(r.object_type.clone())
            .push_bind(r.object_id.clone())
            .push_bind(r.outcome.clone())
            .push_bind(r.detail.clone())
            .push_bind(r.prev_hash.clone())
            .push_bind(r.hash.clone())
            .push_bind(i64::from(r.keyed));
    });
    q
}
