-- The submission ledger as it was before migrations (IF NOT EXISTS: a file written by an
-- earlier fhir-coder already has these tables, and keeps its rows).
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    claim_id TEXT PRIMARY KEY,
    pcn TEXT NOT NULL UNIQUE,
    base_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    frequency TEXT NOT NULL,
    corrects TEXT NOT NULL DEFAULT '',
    charge TEXT NOT NULL,
    interchange INTEGER NOT NULL,
    batch TEXT NOT NULL DEFAULT '',
    encounter TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    payer_claim_number TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    submitted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_claim ON events (claim_id, id);
CREATE TABLE IF NOT EXISTS intakes (digest TEXT PRIMARY KEY, name TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS remit_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    pcn TEXT NOT NULL,
    claim_status TEXT NOT NULL,
    line INTEGER NOT NULL,
    procedure TEXT NOT NULL,
    charge TEXT NOT NULL,
    paid TEXT NOT NULL,
    group_code TEXT NOT NULL DEFAULT '',
    carc TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL DEFAULT '',
    rarcs TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS remit_claim ON remit_lines (claim_id);
CREATE TABLE IF NOT EXISTS unmatched (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    pcn TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_adjustments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    provider TEXT NOT NULL,
    period TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount TEXT NOT NULL
);
