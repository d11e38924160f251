-- Whether a record's hash is keyed (HMAC-SHA256 under the key file's audit
-- key); records written before are plain SHA-256 and keep verifying as such.
-- (ALTER TABLE is no UPDATE: the append-only triggers do not stand in its way.)
ALTER TABLE audit_log ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0 CHECK (keyed IN (0, 1));
-- Finding each object's creation record (the coverage check of `audit verify`).
CREATE INDEX audit_log_object ON audit_log (object_type, action, object_id);
