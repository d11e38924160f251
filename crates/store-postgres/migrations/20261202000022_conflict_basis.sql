-- A conflict says which test found it: `space_time` (the places and the
-- widened windows overlap: distance and overlap set) or `shared_target`
-- (events of two agencies linked to subjects that match, whatever their
-- places and times: no distance, no overlap). SQLite cannot relax NOT NULL
-- in place, so there the table is rebuilt (its foreign keys deferred so that
-- no alert is left without its conflict meanwhile); PostgreSQL alters it in
-- place, rows, alerts' references and indexes (conflicts_b) kept. Every
-- conflict so far was found in space and time.
ALTER TABLE conflicts ADD COLUMN basis TEXT COLLATE "C";
UPDATE conflicts SET basis = 'space_time';
ALTER TABLE conflicts ALTER COLUMN basis SET NOT NULL;
ALTER TABLE conflicts ADD CHECK (basis IN ('space_time', 'shared_target'));
ALTER TABLE conflicts ALTER COLUMN distance_m DROP NOT NULL;
ALTER TABLE conflicts ALTER COLUMN overlap_start DROP NOT NULL;
ALTER TABLE conflicts ALTER COLUMN overlap_end DROP NOT NULL;
ALTER TABLE conflicts ADD CHECK ((basis = 'space_time') = (distance_m IS NOT NULL AND overlap_start IS NOT NULL AND overlap_end IS NOT NULL));
