-- Escalation: an alert not acknowledged by its deadline gets a follow-up of
-- level 1 (the agency's coordinators); one not acknowledged 10 minutes later,
-- level 2 (the commanders of the operation's lead agencies).
ALTER TABLE alerts ADD COLUMN level BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN escalated_at TEXT COLLATE "C";
CREATE INDEX alerts_due ON alerts (deadline) WHERE acknowledged_at IS NULL AND escalated_at IS NULL;
