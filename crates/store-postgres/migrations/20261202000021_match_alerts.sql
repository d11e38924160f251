-- Alerts about target matches go to the same inbox as the conflicts' alerts,
-- in one sequence (a stream resumes after one seq across both): an alert is
-- about a conflict (event_id, conflict_id), about a match (subject_id,
-- match_id), or about a list another agency checked that holds one of the
-- agency's subjects (subject_id, checked_by), one of the three. SQLite
-- cannot relax NOT NULL in place, so there the table is rebuilt with its
-- rows, seqs kept; PostgreSQL alters it in place (rows, seqs and indexes
-- stay; the new columns come last, NULL on every alert so far, each of which
-- is about a conflict).
ALTER TABLE alerts ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE alerts ALTER COLUMN conflict_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN subject_id TEXT COLLATE "C" REFERENCES subjects (id);
ALTER TABLE alerts ADD COLUMN match_id TEXT COLLATE "C" REFERENCES subject_matches (id);
ALTER TABLE alerts ADD COLUMN checked_by TEXT COLLATE "C" REFERENCES agencies (id);
ALTER TABLE alerts ADD CHECK ((event_id IS NOT NULL AND conflict_id IS NOT NULL AND subject_id IS NULL AND match_id IS NULL
            AND checked_by IS NULL)
        OR (event_id IS NULL AND conflict_id IS NULL AND subject_id IS NOT NULL
            AND (match_id IS NULL) <> (checked_by IS NULL)));
-- alerts_agency, alerts_due, alerts_conflict and alerts_open, which SQLite's
-- rebuild makes again, stand as they were.
CREATE INDEX alerts_match ON alerts (match_id, seq) WHERE match_id IS NOT NULL;
CREATE INDEX alerts_subject ON alerts (subject_id) WHERE subject_id IS NOT NULL;
