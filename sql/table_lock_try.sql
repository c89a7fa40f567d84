-- Session-level, held for the whole job: a second process that still runs
-- a job on this table (say, one presumed dead) keeps the table to itself.
SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended('partd.table:' || $1, 0));
