-- Which figure a flag's resolution says stands: `tally`, `records`,
-- `state_tally`, `agencies`, `announced`, `rows` or `figure:N`; NULL when
-- the reason alone resolved it (every resolution made before this).
ALTER TABLE flag_resolutions ADD COLUMN stands TEXT COLLATE "C";
