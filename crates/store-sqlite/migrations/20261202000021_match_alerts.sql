-- Alerts about target matches go to the same inbox as the conflicts' alerts,
-- in one sequence (a stream resumes after one seq across both): an alert is
-- about a conflict (event_id, conflict_id), about a match (subject_id,
-- match_id), or about a list another agency checked that holds one of the
-- agency's subjects (subject_id, checked_by), one of the three. SQLite
-- cannot relax NOT NULL in place, so the table is rebuilt with its rows,
-- seqs kept.
CREATE TABLE alerts_new (
    seq              INTEGER PRIMARY KEY,
    agency_id        TEXT NOT NULL REFERENCES agencies (id),
    event_id         TEXT REFERENCES events (id),
    conflict_id      TEXT REFERENCES conflicts (id),
    subject_id       TEXT REFERENCES subjects (id),
    match_id         TEXT REFERENCES subject_matches (id),
    checked_by       TEXT REFERENCES agencies (id),
    created_at       TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    acknowledged_by  TEXT,
    acknowledged_at  TEXT,
    level            INTEGER NOT NULL DEFAULT 0,
    escalated_at     TEXT,
    CHECK ((event_id IS NOT NULL AND conflict_id IS NOT NULL AND subject_id IS NULL AND match_id IS NULL
            AND checked_by IS NULL)
        OR (event_id IS NULL AND conflict_id IS NULL AND subject_id IS NOT NULL
            AND (match_id IS NULL) <> (checked_by IS NULL)))
) STRICT;
INSERT INTO alerts_new (seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by,
                        acknowledged_at, level, escalated_at)
    SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at,
           level, escalated_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_agency ON alerts (agency_id, seq);
CREATE INDEX alerts_due ON alerts (deadline) WHERE acknowledged_at IS NULL AND escalated_at IS NULL;
CREATE INDEX alerts_conflict ON alerts (conflict_id, seq);
CREATE INDEX alerts_open ON alerts (agency_id, seq) WHERE acknowledged_at IS NULL;
CREATE INDEX alerts_match ON alerts (match_id, seq) WHERE match_id IS NOT NULL;
CREATE INDEX alerts_subject ON alerts (subject_id) WHERE subject_id IS NOT NULL;
