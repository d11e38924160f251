-- Tokens for machines: scoped to some of the user's roles, expiring,
-- revocable, stored hashed.
CREATE TABLE api_tokens (
    id            TEXT COLLATE "C" PRIMARY KEY,
    token_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    name          TEXT COLLATE "C" NOT NULL,
    roles         TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    revoked_at    TEXT COLLATE "C",
    last_used_at  TEXT COLLATE "C"
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
