-- Taskforce initial schema: reference states, agencies, users and roles,
-- sessions, operations with their states and agencies.
-- Times are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.fffffffffZ) so that
-- text order is time order. Ids are UUIDv7 text, so id order is creation order.

CREATE TABLE states (
    code  TEXT PRIMARY KEY,          -- ISO 3166-2, US-MO
    usps  TEXT NOT NULL UNIQUE,
    fips  TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL,
    kind  TEXT NOT NULL CHECK (kind IN ('state', 'district', 'territory'))
) STRICT;

CREATE TABLE agencies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    short_name  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    home_state  TEXT NOT NULL REFERENCES states (code),
    ori         TEXT UNIQUE,
    duty_name   TEXT NOT NULL,
    duty_phone  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
-- One agency of a name per state, whatever the case.
CREATE UNIQUE INDEX agencies_name_state ON agencies (lower(name), home_state);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    unit           TEXT,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX users_agency ON users (agency_id, id);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) STRICT;

-- Only a hash of each session token is kept.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE operations (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('planning', 'active', 'concluded', 'closed')),
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_by  TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;

-- A state of an operation; its own window only where it differs.
CREATE TABLE operation_states (
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    state         TEXT NOT NULL REFERENCES states (code),
    position      INTEGER NOT NULL,
    starts_at     TEXT,
    ends_at       TEXT,
    time_zone     TEXT,
    note          TEXT,
    PRIMARY KEY (operation_id, state),
    CHECK ((starts_at IS NULL) = (ends_at IS NULL) AND (starts_at IS NULL) = (time_zone IS NULL)),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
) STRICT;

CREATE TABLE operation_agencies (
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    role          TEXT NOT NULL CHECK (role IN ('lead', 'participant', 'support')),
    position      INTEGER NOT NULL,
    joined_at     TEXT NOT NULL,
    PRIMARY KEY (operation_id, agency_id)
) STRICT;
CREATE INDEX operation_agencies_agency ON operation_agencies (agency_id, operation_id);
