-- A subject's blind keys are read by its key: the index by subject now holds
-- each key's role too (the blind key itself is in every entry already, as
-- the table's primary key), so reading them takes no lookup into the table
-- per key. At 5 million subjects a start read them three times as fast.
-- (Measured on SQLite. In PostgreSQL an entry holds only its columns and
-- the row's address, not the primary key: an index-only read of the keys
-- themselves would need the blind as well; this keeps SQLite's shape.)
DROP INDEX subject_blinds_subject;
CREATE INDEX subject_blinds_subject ON subject_blinds (subject_key, role);
