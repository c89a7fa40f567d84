-- The partitions of a partitioned table ($1 oid), the default one
-- included: oid, schema-qualified quoted name, heap bytes, and whether it
-- is the default partition.
SELECT c.oid::text AS oid,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS partition,
       pg_catalog.pg_relation_size(c.oid) AS bytes,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE i.inhparent = $1
 ORDER BY 1
