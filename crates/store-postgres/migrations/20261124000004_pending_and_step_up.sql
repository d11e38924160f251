-- A sign-in between its password and its second factor (pages only): a
-- short-lived token, stored hashed.
CREATE TABLE pending_sign_ins (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    stage       TEXT COLLATE "C" NOT NULL CHECK (stage IN ('code', 'enrol')),
    created_at  TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C" NOT NULL
);

-- When the session last proved the second factor (step-up).
ALTER TABLE sessions ADD COLUMN factor_at TEXT COLLATE "C";
