-- A tally entered in error is voided with a reason; it stays, and the
-- earlier tally of its scope speaks again.
CREATE TABLE tally_voids (
    tally_id    TEXT PRIMARY KEY REFERENCES tallies (id),
    voided_by   TEXT,
    by_name     TEXT NOT NULL,
    at          TEXT NOT NULL,
    reason      TEXT NOT NULL
) STRICT;
CREATE TRIGGER tally_voids_no_update BEFORE UPDATE ON tally_voids
BEGIN
    SELECT RAISE(ABORT, 'tally voids are append-only');
END;
CREATE TRIGGER tally_voids_no_delete BEFORE DELETE ON tally_voids
BEGIN
    SELECT RAISE(ABORT, 'tally voids are append-only');
END;
