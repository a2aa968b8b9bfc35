-- The work items of encounters that need a person, as the SQLite file has them.
CREATE TABLE work_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    job_id BIGINT NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '',
    rules TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    encounter_class TEXT NOT NULL DEFAULT '',
    payer TEXT NOT NULL DEFAULT '',
    patient TEXT NOT NULL DEFAULT '',
    service_date TEXT NOT NULL DEFAULT '',
    claim_id TEXT NOT NULL DEFAULT '',
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    locked_by TEXT NOT NULL DEFAULT '',
    locked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    closed_by TEXT NOT NULL DEFAULT '',
    closed_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    payload TEXT NOT NULL DEFAULT '{}',
    work TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX work_key ON work_items (source, encounter_id);
CREATE INDEX work_open ON work_items (state, created);
CREATE INDEX work_patient ON work_items (patient);
CREATE INDEX work_encounter ON work_items (encounter_id);
CREATE INDEX work_service ON work_items (state, service_date, id);
CREATE TABLE work_reasons (
    reason TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    PRIMARY KEY (reason, item_id)
);
CREATE INDEX work_reasons_item ON work_reasons (item_id, reason);
CREATE TABLE work_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_events_item ON work_events (item_id, id);
CREATE INDEX work_events_action ON work_events (action, at);
CREATE INDEX work_events_outbox ON work_events (sent, id) WHERE sent = 0;
