-- What the in-memory index of events needs of each row, as integers, in one
-- narrow covering index ordered by revision. A start without a snapshot reads
-- every event through it: SQLite then walks a ~100-byte index entry per event
-- instead of a ~600-byte row, and prints integers instead of REALs and
-- timestamps (which cost about 2 µs a row). In SQLite the columns are
-- virtual, computed on write into the index only; PostgreSQL 15 has no
-- virtual generated columns, so here they are stored (computed on every
-- insert and change of the row, never written by the store).
--   dx_lat, dx_lon: degrees × 10⁷, rounded (within 0.6 cm of the point);
--   dx_r: the radius in centimetres, truncated, plus 2 cm for that rounding;
--   dx_ws, dx_we: the buffered window to whole seconds outward (epoch seconds).
-- The index only finds candidates, each checked again on its row, so a span a
-- little larger than the event can add a candidate but never lose a conflict.
-- The expressions give SQLite's values exactly: its round() is half away from
-- zero (PostgreSQL's round(double precision) is half to even, so it is
-- spelled out), its CAST to INTEGER truncates (PostgreSQL's rounds, so
-- trunc() first), and unixepoch() of the first 19 characters (the time to
-- the second, UTC) is counted from the fixed-width text's fields, since a
-- generated column may only use immutable functions (a text-to-timestamp cast
-- is not).
ALTER TABLE events ADD COLUMN dx_lat BIGINT GENERATED ALWAYS AS (
    (CASE WHEN lat * 10000000 >= 0 THEN floor(lat * 10000000 + 0.5)
          ELSE -floor(-(lat * 10000000) + 0.5) END)::BIGINT) STORED;
ALTER TABLE events ADD COLUMN dx_lon BIGINT GENERATED ALWAYS AS (
    (CASE WHEN lon * 10000000 >= 0 THEN floor(lon * 10000000 + 0.5)
          ELSE -floor(-(lon * 10000000) + 0.5) END)::BIGINT) STORED;
ALTER TABLE events ADD COLUMN dx_r BIGINT GENERATED ALWAYS AS (trunc(radius_m * 100)::BIGINT + 2) STORED;
ALTER TABLE events ADD COLUMN dx_ws BIGINT GENERATED ALWAYS AS (
    (make_date(substr(wstart, 1, 4)::INT, substr(wstart, 6, 2)::INT, substr(wstart, 9, 2)::INT)
        - DATE '1970-01-01')::BIGINT * 86400
    + substr(wstart, 12, 2)::BIGINT * 3600 + substr(wstart, 15, 2)::BIGINT * 60 + substr(wstart, 18, 2)::BIGINT) STORED;
ALTER TABLE events ADD COLUMN dx_we BIGINT GENERATED ALWAYS AS (
    (make_date(substr(wend, 1, 4)::INT, substr(wend, 6, 2)::INT, substr(wend, 9, 2)::INT)
        - DATE '1970-01-01')::BIGINT * 86400
    + substr(wend, 12, 2)::BIGINT * 3600 + substr(wend, 15, 2)::BIGINT * 60 + substr(wend, 18, 2)::BIGINT + 1) STORED;
CREATE INDEX events_dx ON events (rev, agency_id, unit, dx_lat, dx_lon, dx_r, dx_ws, dx_we, status);
