-- Whether partition $2 of schema $1 is half-way through a DETACH CONCURRENTLY.
SELECT i.inhdetachpending AS pending
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2;
