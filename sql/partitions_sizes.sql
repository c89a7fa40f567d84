-- Measured sizes of every partition of one parent ($1 oid), for ?exact=true:
-- opens every partition, so it costs far more than partitions_list.
SELECT c.relname AS name, pg_catalog.pg_table_size(c.oid) AS table_bytes,
       pg_catalog.pg_indexes_size(c.oid) AS index_bytes
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = $1;
