-- The CDS Hooks JWTs already used (a hash of issuer and jti, kept until the token expires):
-- in the job ledger's database so every serve process on every machine refuses a replay.
CREATE TABLE IF NOT EXISTS seen_tokens (key TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL);
