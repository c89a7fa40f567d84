-- A managed table's policy and what the catalog says of it, in one round
-- trip (jobs, the scheduler and the partition list start here).
-- $1 schema, $2 table. oid is NULL when the table no longer exists.
SELECT m.policy,
       c.oid,
       c.relkind,
       pt.partstrat,
       (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
          FROM pg_catalog.unnest(pt.partattrs) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum)::text
           AS partition_key
  FROM partd.managed_tables m
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = m.schema_name
  LEFT JOIN pg_catalog.pg_class c
         ON c.relnamespace = n.oid AND c.relname = m.table_name AND c.relkind IN ('r', 'p')
  LEFT JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = c.oid
 WHERE m.schema_name = $1 AND m.table_name = $2;
