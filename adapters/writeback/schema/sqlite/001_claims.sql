-- The Claim ledger as it stood when schema versions began (IF NOT EXISTS: older files open;
-- the fence column they may lack is added by the ledger).
CREATE TABLE IF NOT EXISTS claims (
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
    lease_until REAL NOT NULL DEFAULT 0,
    fence INTEGER NOT NULL DEFAULT 0,  -- raised by each reservation: its owner's proof
    PRIMARY KEY (destination, encounter_key)
);
