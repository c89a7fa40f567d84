-- A relation by schema and name: does it exist, is it a partition (of
-- which parent), and does it carry partd's bounds constraint (a table
-- partd made in an attempt that did not reach the ATTACH).
SELECT c.oid, c.relispartition,
       (SELECT i.inhparent FROM pg_catalog.pg_inherits i
         WHERE i.inhrelid = c.oid AND c.relispartition) AS parent,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                WHERE k.conrelid = c.oid AND k.conname = 'partd_bounds') AS partd_made
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2;
