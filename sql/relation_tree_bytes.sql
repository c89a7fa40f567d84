-- Bytes of a table and, when it is partitioned, of all its partitions
-- ($1 schema, $2 table); 0 when it does not exist.
SELECT coalesce(sum(pg_catalog.pg_total_relation_size(t.relid)), 0)::bigint AS bytes
  FROM pg_catalog.pg_partition_tree(
           pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2))) t;
