-- Only the bounds of every partition of one parent ($1 oid): what jobs and
-- the scheduler need, without sizes or statistics.
WITH parts AS MATERIALIZED (
    SELECT c.relnamespace, c.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1
)
SELECT n.nspname AS schema_name, p.relname AS name, p.bound = 'DEFAULT' AS is_default,
       r.m[1] AS bound_from, r.m[2] AS bound_to
  FROM parts p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
  CROSS JOIN LATERAL (SELECT pg_catalog.regexp_match(p.bound,
                             $re$^FOR VALUES FROM \((?:'([^']*)'|MINVALUE)\) TO \((?:'([^']*)'|MAXVALUE)\)$$re$) AS m) r
 ORDER BY p.bound = 'DEFAULT', r.m[1] NULLS FIRST;
