-- Every partition of one parent (by oid, $1) in one catalog query: bounds
-- from the catalog's partition bound, sizes, statistics. Fast at 10,000
-- partitions: no per-partition round trip, no table scan.
SELECT n.nspname                                      AS schema_name,
       c.relname                                      AS name,
       b.bound = 'DEFAULT'                            AS is_default,
       r.m[1]                                         AS bound_from,
       r.m[2]                                         AS bound_to,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS rows_estimate,
       pg_catalog.pg_table_size(c.oid)                AS table_bytes,
       pg_catalog.pg_indexes_size(c.oid)              AS index_bytes,
       s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
       s.n_dead_tup                                   AS dead_tuples,
       s.n_mod_since_analyze                          AS mods_since_analyze,
       extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum)) AS vacuum_age_s,
       extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze)) AS analyze_age_s
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid
  CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound) b
  CROSS JOIN LATERAL (SELECT pg_catalog.regexp_match(b.bound,
                             $re$^FOR VALUES FROM \((?:'([^']*)'|MINVALUE)\) TO \((?:'([^']*)'|MAXVALUE)\)$$re$) AS m) r
 WHERE i.inhparent = $1
 ORDER BY b.bound = 'DEFAULT', r.m[1] NULLS FIRST;
