-- The partitions of a partitioned table ($1 oid), schema-qualified and
-- quoted, the default one included.
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS partition
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE i.inhparent = $1
 ORDER BY c.relname
