-- What retention plans from, for one parent ($1 oid; $2 schema, $3 table):
-- every partition with its bound and exact size, and the tables a crashed
-- retention job detached but did not drop yet (partd.retiring), which are
-- no longer partitions (bound_node NULL) or are still pending a
-- concurrent detach.
SELECT c.relname AS name, c.relpartbound::text AS bound_node, i.inhdetachpending AS detach_pending,
       pg_catalog.pg_total_relation_size(c.oid) AS bytes,
       pg_catalog.pg_relation_size(c.oid) AS heap_bytes, c.reltuples::bigint AS rows_estimate,
       NULL::text AS range_from, NULL::text AS range_to
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = $1
UNION ALL
SELECT r.partition_name, NULL, false, pg_catalog.pg_total_relation_size(c.oid),
       pg_catalog.pg_relation_size(c.oid), c.reltuples::bigint, r.range_from::text,
       r.range_to::text
  FROM partd.retiring r
  JOIN pg_catalog.pg_namespace n ON n.nspname = r.schema_name
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.partition_name
 WHERE r.schema_name = $2 AND r.table_name = $3
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid);
