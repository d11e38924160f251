-- Events still planned or active, by their own end: the server marks those
-- whose end has passed done (and stops escalating their alerts) without
-- scanning the events already over. Alerts by conflict: an inbox reads every
-- alert one conflict raised, to say which side has acknowledged; the menu
-- counts an agency's alerts not yet acknowledged.
CREATE INDEX events_open_end ON events (end_at) WHERE status IN ('planned', 'active');
CREATE INDEX alerts_conflict ON alerts (conflict_id, seq);
CREATE INDEX alerts_open ON alerts (agency_id, seq) WHERE acknowledged_at IS NULL;
