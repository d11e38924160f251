-- Registered events, their conflicts and the alerts each side gets.
-- wstart/wend are the windows widened by the event's buffer, so the
-- candidate search is one range condition.
CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    operation_id   TEXT REFERENCES operations (id),
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    unit           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    lat            REAL NOT NULL,
    lon            REAL NOT NULL,
    radius_m       REAL NOT NULL,
    buffer_s       INTEGER NOT NULL,
    start_at       TEXT NOT NULL,
    end_at         TEXT NOT NULL,
    wstart         TEXT NOT NULL,
    wend           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('planned', 'active', 'done', 'cancelled')),
    contact_name   TEXT NOT NULL,
    contact_phone  TEXT NOT NULL,
    external_ref   TEXT,
    details        BLOB,
    registered_by  TEXT,
    registered_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX events_window ON events (wend, wstart);
CREATE INDEX events_agency ON events (agency_id, id);
CREATE INDEX events_operation ON events (operation_id);

CREATE TABLE conflicts (
    id             TEXT PRIMARY KEY,
    a_event        TEXT NOT NULL REFERENCES events (id),
    b_event        TEXT NOT NULL REFERENCES events (id),
    distance_m     REAL NOT NULL,
    overlap_start  TEXT NOT NULL,
    overlap_end    TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    outcome        TEXT CHECK (outcome IN ('proceed', 'joint', 'delay', 'cancel', 'false_positive')),
    decided_by     TEXT,
    decided_at     TEXT,
    reason         TEXT,
    UNIQUE (a_event, b_event)
) STRICT;
CREATE INDEX conflicts_b ON conflicts (b_event);

CREATE TABLE alerts (
    seq              INTEGER PRIMARY KEY,
    agency_id        TEXT NOT NULL REFERENCES agencies (id),
    event_id         TEXT NOT NULL REFERENCES events (id),
    conflict_id      TEXT NOT NULL REFERENCES conflicts (id),
    created_at       TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    acknowledged_by  TEXT,
    acknowledged_at  TEXT
) STRICT;
CREATE INDEX alerts_agency ON alerts (agency_id, seq);
