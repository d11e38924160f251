-- Registered subjects (persons, phones, vehicles, ...), their blind keys,
-- the events they are linked to, and the matches between two agencies'
-- subjects. A subject's identity is sealed for its agency (`sealed`, NULL
-- once a tombstone); matching runs on the blind keys (keyed hashes), so the
-- database alone reveals no identifier.
--
-- `key` is the subject's compact key, which an in-memory index of subjects
-- holds: AUTOINCREMENT, so a purged subject's key is never given again.
-- Every insert or change of a subject takes the next revision, and so does
-- every purge (in `subject_purges`): one sequence over both tables, so an
-- index catches up by reading the changes and the purges above the last
-- revision it saw. Writers are serialised (BEGIN IMMEDIATE), so revisions
-- grow in commit order.
CREATE TABLE subjects (
    key            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    number         TEXT NOT NULL UNIQUE,
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    unit           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('person', 'phone', 'vehicle', 'address', 'business', 'email',
                                                 'handle', 'payment')),
    role           TEXT NOT NULL CHECK (role IN ('suspect', 'associate', 'victim', 'decoy')),
    operation_id   TEXT REFERENCES operations (id),
    sealed         BLOB,
    blind_version  INTEGER NOT NULL,
    registered_by  TEXT,
    registered_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'tombstone')),
    rev            INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX subjects_rev ON subjects (rev);
CREATE INDEX subjects_agency ON subjects (agency_id, id);
CREATE INDEX subjects_expiry ON subjects (expires_at);

-- A subject's blind keys: looked up by key (an exact match), and replaced
-- whole by the subject's key.
CREATE TABLE subject_blinds (
    subject_key  INTEGER NOT NULL REFERENCES subjects (key),
    blind        BLOB NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('primary', 'unit')),
    PRIMARY KEY (blind, subject_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX subject_blinds_subject ON subject_blinds (subject_key);

-- Events of the subject's agency the subject is linked to.
CREATE TABLE subject_events (
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    event_id    TEXT NOT NULL REFERENCES events (id),
    PRIMARY KEY (subject_id, event_id)
) STRICT;
CREATE INDEX subject_events_event ON subject_events (event_id);

-- Matches between two subjects: a pair is stored once, whichever side was
-- registered first (the unique index on the ordered pair). That index
-- cannot find a match by `a_subject` alone, so each side has its own.
CREATE TABLE subject_matches (
    id           TEXT PRIMARY KEY,
    a_subject    TEXT NOT NULL REFERENCES subjects (id),
    b_subject    TEXT NOT NULL REFERENCES subjects (id),
    exact        INTEGER NOT NULL CHECK (exact IN (0, 1)),
    score        REAL NOT NULL,
    parts        TEXT NOT NULL CHECK (json_valid(parts)),
    detected_at  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('unconfirmed', 'open', 'resolved', 'dismissed')),
    outcome      TEXT,
    decided_by   TEXT,
    decided_at   TEXT,
    reason       TEXT
) STRICT;
CREATE UNIQUE INDEX subject_matches_pair ON subject_matches (min(a_subject, b_subject), max(a_subject, b_subject));
CREATE INDEX subject_matches_a ON subject_matches (a_subject);
CREATE INDEX subject_matches_b ON subject_matches (b_subject);

-- The compact keys of purged subjects, each at the revision of its purge
-- (what an index of subjects must drop). No foreign key: the subject is gone.
CREATE TABLE subject_purges (
    rev          INTEGER PRIMARY KEY,
    subject_key  INTEGER NOT NULL
) STRICT;
