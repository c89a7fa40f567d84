-- Every managed table with its policy, whether it is partitioned the way
-- the policy says, and its partitions' bounds: one row per partition (one
-- row with a NULL bound for a table with none), for the scheduler's pass
-- in a single round trip.
WITH t AS (
    SELECT m.schema_name, m.table_name, m.policy, c.oid, c.relkind, pt.partstrat,
           (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
              FROM pg_catalog.unnest(pt.partattrs) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum)::text
               AS partition_key
      FROM partd.managed_tables m
      LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = m.schema_name
      LEFT JOIN pg_catalog.pg_class c
             ON c.relnamespace = n.oid AND c.relname = m.table_name AND c.relkind IN ('r', 'p')
      LEFT JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = c.oid
)
SELECT t.*, p.relname AS name, p.relpartbound::text AS bound_node
  FROM t
  LEFT JOIN pg_catalog.pg_inherits i ON i.inhparent = t.oid
  LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid
 ORDER BY t.schema_name, t.table_name;
