-- The audit trail: append-only and hash-chained. seq is gap-free because it
-- is assigned inside the write transaction that appends the record (as
-- MAX(seq) + 1, writers being serialised).
CREATE TABLE audit_log (
    seq              BIGINT PRIMARY KEY,
    at               TEXT COLLATE "C" NOT NULL,
    actor            TEXT COLLATE "C" NOT NULL,
    actor_user_id    TEXT COLLATE "C",
    actor_agency_id  TEXT COLLATE "C",
    source           TEXT COLLATE "C",
    request_id       TEXT COLLATE "C",
    action           TEXT COLLATE "C" NOT NULL,
    object_type      TEXT COLLATE "C" NOT NULL,
    object_id        TEXT COLLATE "C",
    outcome          TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail           TEXT COLLATE "C",
    prev_hash        TEXT COLLATE "C" NOT NULL,
    hash             TEXT COLLATE "C" NOT NULL UNIQUE
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Refuses the change it is called for (an update, a delete, a truncation).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- PostgreSQL can also empty a table without deleting its rows one by one
-- (SQLite cannot): refused alike.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Sign-in attempts, counted before each password check; a lock stays until
-- an administrator releases it.
ALTER TABLE users ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failure_window_start TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN locked_at TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT COLLATE "C";
