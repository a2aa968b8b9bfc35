-- The work items of encounters that need a person (IF NOT EXISTS: files that got them
-- before schema versions began open unchanged; a work_events table without its sent
-- column gets it from the ledger before this runs).
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    job_id INTEGER NOT NULL DEFAULT 0,
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
    created REAL NOT NULL,
    updated REAL NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    locked_by TEXT NOT NULL DEFAULT '',
    locked_until REAL NOT NULL DEFAULT 0,
    closed_by TEXT NOT NULL DEFAULT '',
    closed_at REAL NOT NULL DEFAULT 0,
    payload TEXT NOT NULL DEFAULT '{}',
    work TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS work_key ON work_items (source, encounter_id);
CREATE INDEX IF NOT EXISTS work_open ON work_items (state, created);
CREATE INDEX IF NOT EXISTS work_patient ON work_items (patient);
CREATE INDEX IF NOT EXISTS work_encounter ON work_items (encounter_id);
CREATE INDEX IF NOT EXISTS work_service ON work_items (state, service_date, id);
CREATE TABLE IF NOT EXISTS work_reasons (
    reason TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    PRIMARY KEY (reason, item_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS work_reasons_item ON work_reasons (item_id, reason);
CREATE TABLE IF NOT EXISTS work_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS work_events_item ON work_events (item_id, id);
CREATE INDEX IF NOT EXISTS work_events_action ON work_events (action, at);
CREATE INDEX IF NOT EXISTS work_events_outbox ON work_events (sent, id) WHERE sent = 0;
