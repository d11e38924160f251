-- Failed sign-in attempts since the last successful one, shown to the user at
-- the next (someone else guessing is theirs to know).
ALTER TABLE users ADD COLUMN failed_since_sign_in BIGINT NOT NULL DEFAULT 0;
