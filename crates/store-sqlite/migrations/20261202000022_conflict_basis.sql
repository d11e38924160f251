-- A conflict says which test found it: `space_time` (the places and the
-- widened windows overlap: distance and overlap set) or `shared_target`
-- (events of two agencies linked to subjects that match, whatever their
-- places and times: no distance, no overlap). SQLite cannot relax NOT NULL
-- in place, so the table is rebuilt. Alerts refer to it: with the foreign
-- keys deferred to the commit, its rows are put back (under the same name)
-- before then, so no alert is left without its conflict.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE conflicts_copy AS SELECT * FROM conflicts;
DROP TABLE conflicts;
CREATE TABLE conflicts (
    id             TEXT PRIMARY KEY,
    a_event        TEXT NOT NULL REFERENCES events (id),
    b_event        TEXT NOT NULL REFERENCES events (id),
    basis          TEXT NOT NULL CHECK (basis IN ('space_time', 'shared_target')),
    distance_m     REAL,
    overlap_start  TEXT,
    overlap_end    TEXT,
    detected_at    TEXT NOT NULL,
    outcome        TEXT CHECK (outcome IN ('proceed', 'joint', 'delay', 'cancel', 'false_positive')),
    decided_by     TEXT,
    decided_at     TEXT,
    reason         TEXT,
    UNIQUE (a_event, b_event),
    CHECK ((basis = 'space_time') = (distance_m IS NOT NULL AND overlap_start IS NOT NULL AND overlap_end IS NOT NULL))
) STRICT;
INSERT INTO conflicts (id, a_event, b_event, basis, distance_m, overlap_start, overlap_end, detected_at, outcome,
                       decided_by, decided_at, reason)
    SELECT id, a_event, b_event, 'space_time', distance_m, overlap_start, overlap_end, detected_at, outcome,
           decided_by, decided_at, reason FROM conflicts_copy;
DROP TABLE conflicts_copy;
CREATE INDEX conflicts_b ON conflicts (b_event);
