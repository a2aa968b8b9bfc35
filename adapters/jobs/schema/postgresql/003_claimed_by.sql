-- Which process holds a running job (host:pid): an operator sees which machine works on it,
-- and a job taken over after its lease shows the new holder.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
