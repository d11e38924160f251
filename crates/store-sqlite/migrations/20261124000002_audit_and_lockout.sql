-- The audit trail: append-only and hash-chained. seq is gap-free because it
-- is assigned inside the write transaction that appends the record.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    actor            TEXT NOT NULL,
    actor_user_id    TEXT,
    actor_agency_id  TEXT,
    source           TEXT,
    request_id       TEXT,
    action           TEXT NOT NULL,
    object_type      TEXT NOT NULL,
    object_id        TEXT,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail           TEXT,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

-- Sign-in attempts, counted before each password check; a lock stays until
-- an administrator releases it.
ALTER TABLE users ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failure_window_start TEXT;
ALTER TABLE users ADD COLUMN locked_at TEXT;
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
