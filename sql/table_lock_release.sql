SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended('partd.table:' || $1, 0));
