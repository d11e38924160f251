-- When each password was set, for the optional periodic change (off by
-- default), and sessions that may only change the password.
ALTER TABLE users ADD COLUMN password_changed_at TEXT COLLATE "C";
ALTER TABLE sessions ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
