-- The sign-in rate limit of each client address (a token bucket), kept here
-- and not in a process's memory, so that it holds however the attempts are
-- spread over instances. A bucket full again is forgotten.
CREATE TABLE sign_in_buckets (
    address TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    counted_at TEXT NOT NULL
);
CREATE INDEX sign_in_buckets_counted ON sign_in_buckets (counted_at);
