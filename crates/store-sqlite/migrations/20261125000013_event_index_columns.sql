-- What the in-memory index of events needs of each row, as integers, in one
-- narrow covering index ordered by revision. A start without a snapshot reads
-- every event through it: SQLite then walks a ~100-byte index entry per event
-- instead of a ~600-byte row, and prints integers instead of REALs and
-- timestamps (which cost about 2 µs a row). The columns are virtual: computed
-- on write into the index only, never stored twice in the table.
--   dx_lat, dx_lon: degrees × 10⁷, rounded (within 0.6 cm of the point);
--   dx_r: the radius in centimetres, truncated, plus 2 cm for that rounding;
--   dx_ws, dx_we: the buffered window to whole seconds outward (epoch seconds).
-- The index only finds candidates, each checked again on its row, so a span a
-- little larger than the event can add a candidate but never lose a conflict.
ALTER TABLE events ADD COLUMN dx_lat INTEGER GENERATED ALWAYS AS (CAST(round(lat * 10000000) AS INTEGER)) VIRTUAL;
ALTER TABLE events ADD COLUMN dx_lon INTEGER GENERATED ALWAYS AS (CAST(round(lon * 10000000) AS INTEGER)) VIRTUAL;
ALTER TABLE events ADD COLUMN dx_r INTEGER GENERATED ALWAYS AS (CAST(radius_m * 100 AS INTEGER) + 2) VIRTUAL;
ALTER TABLE events ADD COLUMN dx_ws INTEGER GENERATED ALWAYS AS (unixepoch(substr(wstart, 1, 19))) VIRTUAL;
ALTER TABLE events ADD COLUMN dx_we INTEGER GENERATED ALWAYS AS (unixepoch(substr(wend, 1, 19)) + 1) VIRTUAL;
CREATE INDEX events_dx ON events (rev, agency_id, unit, dx_lat, dx_lon, dx_r, dx_ws, dx_we, status);
