-- Each interchange handed off (a file, an outbox, an HTTP endpoint) and where it stands, so
-- a hand-off cut short by a crash is finished or undone by the next run, never repeated
-- under a new number; and each TA1 (interchange acknowledgment) read, apart from the 999s
-- and 277CAs about the claims inside.
CREATE TABLE interchanges (
    control BIGINT PRIMARY KEY,  -- ISA13
    destination TEXT NOT NULL,  -- the file, outbox folder or URL (no credentials)
    method TEXT NOT NULL,  -- file | outbox | http
    name TEXT NOT NULL DEFAULT '',  -- the file name it is published under
    staged TEXT NOT NULL DEFAULT '',  -- the staged copy awaiting publication
    digest TEXT NOT NULL DEFAULT '',  -- sha256 of the interchange text
    host TEXT NOT NULL DEFAULT '',  -- the machine that holds the staged copy
    pid INTEGER NOT NULL DEFAULT 0,  -- the process handing it off there
    state TEXT NOT NULL,  -- reserved | staged | sent | released
    claims INTEGER NOT NULL DEFAULT 0,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,  -- a live sender's; an older one is recovered
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX interchanges_open ON interchanges (state, control);
CREATE INDEX submissions_interchange ON submissions (interchange);
CREATE INDEX submissions_batch ON submissions (batch);
CREATE TABLE interchange_acks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intake TEXT NOT NULL,
    control BIGINT NOT NULL,  -- TA101: the ISA13 acknowledged
    ack_date TEXT NOT NULL,  -- TA102, TA103
    ack_code TEXT NOT NULL,  -- TA104: A accepted, E accepted with errors, R rejected
    note_code TEXT NOT NULL,  -- TA105
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX interchange_acks_control ON interchange_acks (control, id);
