-- The submission ledger, as the SQLite file has it (times as epoch seconds, amounts as text
-- exactly as sent or received).
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE submissions (
    claim_id TEXT PRIMARY KEY,
    pcn TEXT NOT NULL UNIQUE,
    base_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    frequency TEXT NOT NULL,
    corrects TEXT NOT NULL DEFAULT '',
    charge TEXT NOT NULL,
    interchange BIGINT NOT NULL,
    batch TEXT NOT NULL DEFAULT '',
    encounter TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    payer_claim_number TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    submitted_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_claim ON events (claim_id, id);
CREATE TABLE intakes (digest TEXT PRIMARY KEY, name TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
CREATE TABLE remit_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
CREATE INDEX remit_claim ON remit_lines (claim_id);
CREATE TABLE unmatched (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intake TEXT NOT NULL,
    pcn TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE provider_adjustments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intake TEXT NOT NULL,
    provider TEXT NOT NULL,
    period TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount TEXT NOT NULL
);
