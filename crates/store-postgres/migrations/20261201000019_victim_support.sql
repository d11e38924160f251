-- The advocates' log beside a victim's record: services given and referrals
-- made (a referral only with consent). It never feeds a figure. The note is
-- sealed with the operation's data key, like an identity.
CREATE TABLE victim_support (
    seq           BIGINT PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL UNIQUE,
    result_id     TEXT COLLATE "C" NOT NULL,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    agency_id     TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    by_name       TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('service', 'referral')),
    what          TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL,
    consent       BIGINT NOT NULL CHECK (consent IN (0, 1)),
    note          BYTEA,
    recorded_at   TEXT COLLATE "C" NOT NULL,
    CHECK (kind = 'service' OR consent = 1)
);
CREATE INDEX victim_support_result ON victim_support (result_id, at, seq);

-- A log of care is written once: never changed, never deleted.
CREATE FUNCTION victim_support_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the services log is append-only';
END;
$$;
CREATE TRIGGER victim_support_no_update BEFORE UPDATE ON victim_support
    FOR EACH ROW EXECUTE FUNCTION victim_support_append_only();
CREATE TRIGGER victim_support_no_delete BEFORE DELETE ON victim_support
    FOR EACH ROW EXECUTE FUNCTION victim_support_append_only();
