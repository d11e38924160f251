-- A sign-in between its password and its second factor (pages only): a
-- short-lived token, stored hashed.
CREATE TABLE pending_sign_ins (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    stage       TEXT NOT NULL CHECK (stage IN ('code', 'enrol')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

-- When the session last proved the second factor (step-up).
ALTER TABLE sessions ADD COLUMN factor_at TEXT;
