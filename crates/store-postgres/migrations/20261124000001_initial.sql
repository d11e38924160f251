-- Taskforce initial schema: reference states, agencies, users and roles,
-- sessions, operations with their states and agencies.
-- Times are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.fffffffffZ) so that
-- text order is time order. Ids are UUIDv7 text, so id order is creation order.
-- Every text is in the C collation, so text order is byte order on any server
-- (as SQLite's BINARY), whatever the database's default collation.

CREATE TABLE states (
    code  TEXT COLLATE "C" PRIMARY KEY,          -- ISO 3166-2, US-MO
    usps  TEXT COLLATE "C" NOT NULL UNIQUE,
    fips  TEXT COLLATE "C" NOT NULL UNIQUE,
    name  TEXT COLLATE "C" NOT NULL,
    kind  TEXT COLLATE "C" NOT NULL CHECK (kind IN ('state', 'district', 'territory'))
);

-- The unique constraints keep PostgreSQL's default names
-- (agencies_short_name_key, agencies_ori_key): the store tells the rules
-- apart by these names' prefixes.
CREATE TABLE agencies (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    short_name  TEXT COLLATE "C" NOT NULL UNIQUE,
    kind        TEXT COLLATE "C" NOT NULL,
    home_state  TEXT COLLATE "C" NOT NULL REFERENCES states (code),
    ori         TEXT COLLATE "C" UNIQUE,
    duty_name   TEXT COLLATE "C" NOT NULL,
    duty_phone  TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
-- One agency of a name per state, whatever the case (lower() in the C
-- collation folds ASCII only, as SQLite's does).
CREATE UNIQUE INDEX agencies_name_state ON agencies (lower(name), home_state);

CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    username       TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name   TEXT COLLATE "C" NOT NULL,
    agency_id      TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    unit           TEXT COLLATE "C",
    password_hash  TEXT COLLATE "C" NOT NULL,
    disabled       BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX users_agency ON users (agency_id, id);

CREATE TABLE user_roles (
    user_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    role     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Only a hash of each session token is kept.
CREATE TABLE sessions (
    token_hash    TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    created_at    TEXT COLLATE "C" NOT NULL,
    last_seen_at  TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE operations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    code        TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('planning', 'active', 'concluded', 'closed')),
    starts_at   TEXT COLLATE "C" NOT NULL,
    ends_at     TEXT COLLATE "C" NOT NULL,
    time_zone   TEXT COLLATE "C" NOT NULL,
    created_by  TEXT COLLATE "C" REFERENCES users (id),
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    CHECK (ends_at > starts_at)
);

-- A state of an operation; its own window only where it differs.
CREATE TABLE operation_states (
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    state         TEXT COLLATE "C" NOT NULL REFERENCES states (code),
    position      BIGINT NOT NULL,
    starts_at     TEXT COLLATE "C",
    ends_at       TEXT COLLATE "C",
    time_zone     TEXT COLLATE "C",
    note          TEXT COLLATE "C",
    PRIMARY KEY (operation_id, state),
    CHECK ((starts_at IS NULL) = (ends_at IS NULL) AND (starts_at IS NULL) = (time_zone IS NULL)),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);

CREATE TABLE operation_agencies (
    operation_id  TEXT COLLATE "C" NOT NULL REFERENCES operations (id),
    agency_id     TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('lead', 'participant', 'support')),
    position      BIGINT NOT NULL,
    joined_at     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (operation_id, agency_id)
);
CREATE INDEX operation_agencies_agency ON operation_agencies (agency_id, operation_id);
