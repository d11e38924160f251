-- An agency's outgoing webhook (its secret sealed), and the deliveries owed
-- to it: retried with backoff, given up after an hour.
CREATE TABLE agency_webhooks (
    agency_id   TEXT PRIMARY KEY REFERENCES agencies (id),
    url         TEXT NOT NULL,
    secret      BLOB NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    url           TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    delivered_at  TEXT,
    given_up_at   TEXT,
    last_error    TEXT
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
