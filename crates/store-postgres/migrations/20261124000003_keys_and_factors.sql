-- Data keys, wrapped by a key-encryption key kept outside the database.
-- Destroying a scope's keys (wrapped set to NULL) shreds its sealed values.
CREATE TABLE data_keys (
    scope         TEXT COLLATE "C" NOT NULL,           -- system, or operation:<id>
    version       BIGINT NOT NULL CHECK (version >= 1),
    kek_version   BIGINT NOT NULL,
    wrapped       BYTEA,
    created_at    TEXT COLLATE "C" NOT NULL,
    destroyed_at  TEXT COLLATE "C",
    PRIMARY KEY (scope, version),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

-- The second factor: a TOTP secret sealed in the system scope, the last time
-- step accepted (a code works once), recovery codes stored hashed.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT COLLATE "C";

CREATE TABLE recovery_codes (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    code_hash  TEXT COLLATE "C" NOT NULL,
    used_at    TEXT COLLATE "C",
    PRIMARY KEY (user_id, code_hash)
);
