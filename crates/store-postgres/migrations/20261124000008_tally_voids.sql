-- A tally entered in error is voided with a reason; it stays, and the
-- earlier tally of its scope speaks again.
CREATE TABLE tally_voids (
    tally_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES tallies (id),
    voided_by   TEXT COLLATE "C",
    by_name     TEXT COLLATE "C" NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL
);
CREATE FUNCTION tally_voids_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tally voids are append-only';
END;
$$;
CREATE TRIGGER tally_voids_no_update BEFORE UPDATE ON tally_voids
    FOR EACH ROW EXECUTE FUNCTION tally_voids_append_only();
CREATE TRIGGER tally_voids_no_delete BEFORE DELETE ON tally_voids
    FOR EACH ROW EXECUTE FUNCTION tally_voids_append_only();
