-- The advocates' log beside a victim's record: services given and referrals
-- made (a referral only with consent). It never feeds a figure. The note is
-- sealed with the operation's data key, like an identity.
CREATE TABLE victim_support (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    result_id     TEXT NOT NULL,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    by_name       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('service', 'referral')),
    what          TEXT NOT NULL,
    at            TEXT NOT NULL,
    consent       INTEGER NOT NULL CHECK (consent IN (0, 1)),
    note          BLOB,
    recorded_at   TEXT NOT NULL,
    CHECK (kind = 'service' OR consent = 1)
) STRICT;
CREATE INDEX victim_support_result ON victim_support (result_id, at, seq);

-- A log of care is written once: never changed, never deleted.
CREATE TRIGGER victim_support_no_update BEFORE UPDATE ON victim_support
BEGIN
    SELECT RAISE(ABORT, 'the services log is append-only');
END;
CREATE TRIGGER victim_support_no_delete BEFORE DELETE ON victim_support
BEGIN
    SELECT RAISE(ABORT, 'the services log is append-only');
END;
