-- Every insert or change of an event takes the next revision, so an
-- in-memory index of events (a cache) catches up by reading the rows with a
-- revision above the last one it saw. Writers are serialised (by the store's
-- advisory lock, as SQLite's BEGIN IMMEDIATE), so revisions grow in commit
-- order and any snapshot holds a prefix of them. The events already stored
-- take their key (SQLite: their rowid) as revision.
ALTER TABLE events ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
UPDATE events SET rev = key;
CREATE UNIQUE INDEX events_rev ON events (rev);
