-- Run at start-up inside the migration transaction. The advisory lock makes
-- a second partd starting at the same moment wait here, then find every
-- migration applied.
SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('partd.schema', 0));
CREATE SCHEMA IF NOT EXISTS partd;
CREATE TABLE IF NOT EXISTS partd.schema_version (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
