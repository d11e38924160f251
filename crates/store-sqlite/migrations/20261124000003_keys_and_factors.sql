-- Data keys, wrapped by a key-encryption key kept outside the database.
-- Destroying a scope's keys (wrapped set to NULL) shreds its sealed values.
CREATE TABLE data_keys (
    scope         TEXT NOT NULL,           -- system, or operation:<id>
    version       INTEGER NOT NULL CHECK (version >= 1),
    kek_version   INTEGER NOT NULL,
    wrapped       BLOB,
    created_at    TEXT NOT NULL,
    destroyed_at  TEXT,
    PRIMARY KEY (scope, version),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
) STRICT;

-- The second factor: a TOTP secret sealed in the system scope, the last time
-- step accepted (a code works once), recovery codes stored hashed.
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT;

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
