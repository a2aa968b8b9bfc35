-- The job ledger as it stood when schema versions began (IF NOT EXISTS: files written
-- before then open unchanged; the patient column they may lack is added by the ledger).
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    claim_id TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    patient TEXT NOT NULL DEFAULT '',
    fence INTEGER NOT NULL DEFAULT 0  -- raised by every claim: the owner's proof
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs (source, encounter_id, version)
    WHERE version != '';
DROP INDEX IF EXISTS jobs_ready;
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_encounter ON jobs (source, encounter_id);
CREATE TABLE IF NOT EXISTS skips (
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL,
    reason TEXT NOT NULL,
    trigger TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated REAL NOT NULL
);
