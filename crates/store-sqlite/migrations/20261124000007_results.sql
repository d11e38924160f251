-- Results, tallies, announcements, flag resolutions, idempotency keys and
-- releases. Result versions and tallies are append-only: a correction is a
-- new version, a void is a version that counts for nothing.
CREATE TABLE result_versions (
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    state         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    detail        TEXT NOT NULL,
    identity      BLOB,
    void          INTEGER NOT NULL DEFAULT 0 CHECK (void IN (0, 1)),
    reason        TEXT,
    recorded_by   TEXT,
    recorded_at   TEXT NOT NULL,
    PRIMARY KEY (id, version)
) STRICT, WITHOUT ROWID;
CREATE INDEX result_versions_operation ON result_versions (operation_id, id);

CREATE TRIGGER result_versions_no_update BEFORE UPDATE ON result_versions
BEGIN
    SELECT RAISE(ABORT, 'result versions are append-only');
END;
CREATE TRIGGER result_versions_no_delete BEFORE DELETE ON result_versions
BEGIN
    SELECT RAISE(ABORT, 'result versions are append-only');
END;

-- Counters of current, unvoided records, kept in the transaction that
-- changes a record, so an aggregate never scans records.
CREATE TABLE result_counters (
    operation_id      TEXT NOT NULL,
    state             TEXT NOT NULL,
    agency_id         TEXT NOT NULL,
    records           INTEGER NOT NULL DEFAULT 0,
    arrests           INTEGER NOT NULL DEFAULT 0,
    victims           INTEGER NOT NULL DEFAULT 0,
    minor_victims     INTEGER NOT NULL DEFAULT 0,
    needed_medical    INTEGER NOT NULL DEFAULT 0,
    search_warrants   INTEGER NOT NULL DEFAULT 0,
    businesses        INTEGER NOT NULL DEFAULT 0,
    currency_usd      INTEGER NOT NULL DEFAULT 0,
    currency_withheld INTEGER NOT NULL DEFAULT 0,
    vehicles          INTEGER NOT NULL DEFAULT 0,
    firearms          INTEGER NOT NULL DEFAULT 0,
    narcotics         INTEGER NOT NULL DEFAULT 0,
    devices           INTEGER NOT NULL DEFAULT 0,
    other_seizures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (operation_id, state, agency_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE tallies (
    id            TEXT PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    state         TEXT,
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    whole_state   INTEGER NOT NULL CHECK (whole_state IN (0, 1)),
    as_of         TEXT NOT NULL,
    figures       TEXT NOT NULL,
    reason        TEXT,
    source_text   TEXT,
    recorded_by   TEXT,
    recorded_at   TEXT NOT NULL
) STRICT;
CREATE INDEX tallies_operation ON tallies (operation_id);
CREATE TRIGGER tallies_no_update BEFORE UPDATE ON tallies
BEGIN
    SELECT RAISE(ABORT, 'tallies are append-only');
END;
CREATE TRIGGER tallies_no_delete BEFORE DELETE ON tallies
BEGIN
    SELECT RAISE(ABORT, 'tallies are append-only');
END;

CREATE TABLE announcements (
    seq           INTEGER PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    figures       TEXT NOT NULL,
    states        INTEGER,
    note          TEXT,
    recorded_by   TEXT,
    recorded_at   TEXT NOT NULL
) STRICT;
CREATE INDEX announcements_operation ON announcements (operation_id, seq);

CREATE TABLE flag_resolutions (
    seq           INTEGER PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    by_name       TEXT NOT NULL,
    at            TEXT NOT NULL,
    reason        TEXT NOT NULL
) STRICT;
CREATE INDEX flag_resolutions_operation ON flag_resolutions (operation_id, seq);

-- A retried submission with the same key is answered with the first one's
-- object; kept 24 hours.
CREATE TABLE idempotency_keys (
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (principal, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE releases (
    id            TEXT PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    status        TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'published')),
    content       TEXT NOT NULL,
    changes       TEXT NOT NULL,
    version       INTEGER,
    sha256        TEXT,
    drafted_by    TEXT,
    drafted_at    TEXT NOT NULL,
    approved_by   TEXT,
    approved_at   TEXT,
    published_by  TEXT,
    published_at  TEXT,
    UNIQUE (operation_id, version)
) STRICT;
CREATE INDEX releases_operation ON releases (operation_id, drafted_at);
CREATE TRIGGER releases_published_immutable BEFORE UPDATE ON releases
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published release is immutable');
END;
CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published release is immutable');
END;
