-- An agency's outgoing webhook (its secret sealed), and the deliveries owed
-- to it: retried with backoff, given up after an hour.
CREATE TABLE agency_webhooks (
    agency_id   TEXT COLLATE "C" PRIMARY KEY REFERENCES agencies (id),
    url         TEXT COLLATE "C" NOT NULL,
    secret      BYTEA NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            BIGINT PRIMARY KEY,
    agency_id     TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    url           TEXT COLLATE "C" NOT NULL,
    payload       TEXT COLLATE "C" NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    delivered_at  TEXT COLLATE "C",
    given_up_at   TEXT COLLATE "C",
    last_error    TEXT COLLATE "C"
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
