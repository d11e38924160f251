-- One row the store itself writes to prove that a write can commit (readiness
-- after writes were refused for space). No domain table refers to it.
CREATE TABLE store_health (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    probes BIGINT NOT NULL
);
