-- The job ledger, as the SQLite file has it: times are seconds since the epoch (float8),
-- read from the database's clock.
CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    claim_id TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    not_before DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    patient TEXT NOT NULL DEFAULT '',
    fence INTEGER NOT NULL DEFAULT 0  -- raised by every claim: the owner's proof
);
CREATE UNIQUE INDEX jobs_key ON jobs (source, encounter_id, version) WHERE version <> '';
CREATE INDEX jobs_queue ON jobs (state, id);
CREATE INDEX jobs_encounter ON jobs (source, encounter_id);
-- "rowid" after SQLite's implicit column, so one query lists skips in order on both
CREATE TABLE skips (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL,
    reason TEXT NOT NULL,
    trigger TEXT NOT NULL DEFAULT '',
    at DOUBLE PRECISION NOT NULL
);
CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
