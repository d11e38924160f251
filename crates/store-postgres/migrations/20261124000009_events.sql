-- Registered events, their conflicts and the alerts each side gets.
-- wstart/wend are the windows widened by the event's buffer, so the
-- candidate search is one range condition.
-- `key` stands for SQLite's rowid: the event's compact key, given by the
-- store as MAX(key) + 1 (writers are serialised), never reused (events are
-- never deleted).
CREATE TABLE events (
    key            BIGINT NOT NULL UNIQUE,
    id             TEXT COLLATE "C" PRIMARY KEY,
    number         TEXT COLLATE "C" NOT NULL UNIQUE,
    operation_id   TEXT COLLATE "C" REFERENCES operations (id),
    agency_id      TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    unit           TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    lon            DOUBLE PRECISION NOT NULL,
    radius_m       DOUBLE PRECISION NOT NULL,
    buffer_s       BIGINT NOT NULL,
    start_at       TEXT COLLATE "C" NOT NULL,
    end_at         TEXT COLLATE "C" NOT NULL,
    wstart         TEXT COLLATE "C" NOT NULL,
    wend           TEXT COLLATE "C" NOT NULL,
    status         TEXT COLLATE "C" NOT NULL CHECK (status IN ('planned', 'active', 'done', 'cancelled')),
    contact_name   TEXT COLLATE "C" NOT NULL,
    contact_phone  TEXT COLLATE "C" NOT NULL,
    external_ref   TEXT COLLATE "C",
    details        BYTEA,
    registered_by  TEXT COLLATE "C",
    registered_at  TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX events_window ON events (wend, wstart);
CREATE INDEX events_agency ON events (agency_id, id);
CREATE INDEX events_operation ON events (operation_id);

CREATE TABLE conflicts (
    id             TEXT COLLATE "C" PRIMARY KEY,
    a_event        TEXT COLLATE "C" NOT NULL REFERENCES events (id),
    b_event        TEXT COLLATE "C" NOT NULL REFERENCES events (id),
    distance_m     DOUBLE PRECISION NOT NULL,
    overlap_start  TEXT COLLATE "C" NOT NULL,
    overlap_end    TEXT COLLATE "C" NOT NULL,
    detected_at    TEXT COLLATE "C" NOT NULL,
    outcome        TEXT COLLATE "C" CHECK (outcome IN ('proceed', 'joint', 'delay', 'cancel', 'false_positive')),
    decided_by     TEXT COLLATE "C",
    decided_at     TEXT COLLATE "C",
    reason         TEXT COLLATE "C",
    UNIQUE (a_event, b_event)
);
CREATE INDEX conflicts_b ON conflicts (b_event);

CREATE TABLE alerts (
    seq              BIGINT PRIMARY KEY,
    agency_id        TEXT COLLATE "C" NOT NULL REFERENCES agencies (id),
    event_id         TEXT COLLATE "C" NOT NULL REFERENCES events (id),
    conflict_id      TEXT COLLATE "C" NOT NULL REFERENCES conflicts (id),
    created_at       TEXT COLLATE "C" NOT NULL,
    deadline         TEXT COLLATE "C" NOT NULL,
    acknowledged_by  TEXT COLLATE "C",
    acknowledged_at  TEXT COLLATE "C"
);
CREATE INDEX alerts_agency ON alerts (agency_id, seq);
