-- Session-level: the replica holding it is the one scheduler that acts,
-- until its connection ends (the lock then goes to another replica).
SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended('partd.scheduler', 0));
