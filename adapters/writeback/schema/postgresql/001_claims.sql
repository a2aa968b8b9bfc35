-- The Claim ledger, as the SQLite file has it (flags as integers 0/1, times as epoch seconds).
CREATE TABLE claims (
    destination TEXT NOT NULL,
    encounter_key TEXT NOT NULL,
    claim_id TEXT NOT NULL DEFAULT '',
    server_id TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 0,
    submitted INTEGER NOT NULL DEFAULT 0,
    task_open INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    replaces TEXT NOT NULL DEFAULT '',
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    fence INTEGER NOT NULL DEFAULT 0,  -- raised by each reservation: its owner's proof
    PRIMARY KEY (destination, encounter_key)
);
