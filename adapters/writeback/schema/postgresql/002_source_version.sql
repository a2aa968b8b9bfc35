-- The Encounter versionId each written Claim was coded from: a Claim coded from an older
-- version (two jobs of one encounter finishing out of order) is not written over it.
ALTER TABLE claims ADD COLUMN source_version TEXT NOT NULL DEFAULT '';
