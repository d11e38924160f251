-- Results, tallies, announcements, flag resolutions, idempotency keys and
-- releases. Result versions and tallies are append-only: a correction is a
-- new version, a void is a version that counts for nothing.
CREATE TABLE result_versions (
    id            TEXT COLLATE "C" NOT NULL,
    version       BIGINT NOT NULL CHECK (version >= 1),
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    agency_id     TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    state         TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    occurred_at   TEXT COLLATE "C" NOT NULL,
    detail        TEXT COLLATE "C" NOT NULL,
    identity      BYTEA,
    void          BIGINT NOT NULL DEFAULT 0 CHECK (void IN (0, 1)),
    reason        TEXT COLLATE "C",
    recorded_by   TEXT COLLATE "C",
    recorded_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE INDEX result_versions_operation ON result_versions (operation_id, id);

CREATE FUNCTION result_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'result versions are append-only';
END;
$$;
CREATE TRIGGER result_versions_no_update BEFORE UPDATE ON result_versions
    FOR EACH ROW EXECUTE FUNCTION result_versions_append_only();
CREATE TRIGGER result_versions_no_delete BEFORE DELETE ON result_versions
    FOR EACH ROW EXECUTE FUNCTION result_versions_append_only();

-- Counters of current, unvoided records, kept in the transaction that
-- changes a record, so an aggregate never scans records.
CREATE TABLE result_counters (
    operation_id      TEXT COLLATE "C" NOT NULL,
    state             TEXT COLLATE "C" NOT NULL,
    agency_id         TEXT COLLATE "C" NOT NULL,
    records           BIGINT NOT NULL DEFAULT 0,
    arrests           BIGINT NOT NULL DEFAULT 0,
    victims           BIGINT NOT NULL DEFAULT 0,
    minor_victims     BIGINT NOT NULL DEFAULT 0,
    needed_medical    BIGINT NOT NULL DEFAULT 0,
    search_warrants   BIGINT NOT NULL DEFAULT 0,
    businesses        BIGINT NOT NULL DEFAULT 0,
    currency_usd      BIGINT NOT NULL DEFAULT 0,
    currency_withheld BIGINT NOT NULL DEFAULT 0,
    vehicles          BIGINT NOT NULL DEFAULT 0,
    firearms          BIGINT NOT NULL DEFAULT 0,
    narcotics         BIGINT NOT NULL DEFAULT 0,
    devices           BIGINT NOT NULL DEFAULT 0,
    other_seizures    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (operation_id, state, agency_id)
);

CREATE TABLE tallies (
    id            TEXT COLLATE "C" PRIMARY KEY,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    state         TEXT COLLATE "C",
    agency_id     TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    whole_state   BIGINT NOT NULL CHECK (whole_state IN (0, 1)),
    as_of         TEXT COLLATE "C" NOT NULL,
    figures       TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C",
    source_text   TEXT COLLATE "C",
    recorded_by   TEXT COLLATE "C",
    recorded_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX tallies_operation ON tallies (operation_id);
CREATE FUNCTION tallies_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tallies are append-only';
END;
$$;
CREATE TRIGGER tallies_no_update BEFORE UPDATE ON tallies
    FOR EACH ROW EXECUTE FUNCTION tallies_append_only();
CREATE TRIGGER tallies_no_delete BEFORE DELETE ON tallies
    FOR EACH ROW EXECUTE FUNCTION tallies_append_only();

CREATE TABLE announcements (
    seq           BIGINT PRIMARY KEY,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    figures       TEXT COLLATE "C" NOT NULL,
    states        BIGINT,
    note          TEXT COLLATE "C",
    recorded_by   TEXT COLLATE "C",
    recorded_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX announcements_operation ON announcements (operation_id, seq);

CREATE TABLE flag_resolutions (
    seq           BIGINT PRIMARY KEY,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    key           TEXT COLLATE "C" NOT NULL,
    fingerprint   TEXT COLLATE "C" NOT NULL,
    by_name       TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX flag_resolutions_operation ON flag_resolutions (operation_id, seq);

-- A retried submission with the same key is answered with the first one's
-- object; kept 24 hours.
CREATE TABLE idempotency_keys (
    principal     TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    fingerprint   TEXT COLLATE "C" NOT NULL,
    object_id     TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE releases (
    id            TEXT COLLATE "C" PRIMARY KEY,
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('draft', 'approved', 'published')),
    content       TEXT COLLATE "C" NOT NULL,
    changes       TEXT COLLATE "C" NOT NULL,
    version       BIGINT,
    sha256        TEXT COLLATE "C",
    drafted_by    TEXT COLLATE "C",
    drafted_at    TEXT COLLATE "C" NOT NULL,
    approved_by   TEXT COLLATE "C",
    approved_at   TEXT COLLATE "C",
    published_by  TEXT COLLATE "C",
    published_at  TEXT COLLATE "C",
    UNIQUE (operation_id, version)
);
CREATE INDEX releases_operation ON releases (operation_id, drafted_at);
CREATE FUNCTION releases_published_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published release is immutable';
END;
$$;
CREATE TRIGGER releases_published_immutable BEFORE UPDATE ON releases
    FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION releases_published_immutable();
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
    FOR EACH ROW WHEN (OLD.status = 'published') EXECUTE FUNCTION releases_published_immutable();
