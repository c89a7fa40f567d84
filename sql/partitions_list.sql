-- Every partition of one parent (by oid, $1) in one catalog query: its
-- bound (relpartbound as stored; service/bound.c decodes it, instead of a
-- pg_get_expr deparse per row), sizes and statistics. It must stay fast at
-- 10,000 partitions, so it opens no relation: sizes come from relpages (as
-- of the last VACUUM/ANALYZE; ?exact=true measures them) and statistics
-- from the pg_stat_get_* functions of each oid, not from
-- pg_stat_all_tables, which would compute a row for every table in the
-- database.
--
-- Shape, measured at 10,000 partitions (bench/partitions.sh): p is a
-- subquery kept whole by OFFSET 0, not a materialized CTE, so that each
-- statistic is read once per partition (the ages below reuse them) and the
-- 5 MB of bound text is never written to a tuplestore; the toast table's
-- pages are one index probe per partition (a hash join would hash every
-- pg_class row); the index pages are one grouped hash join.
SELECT n.nspname                                      AS schema_name,
       p.relname                                      AS name,
       p.relpartbound::text                           AS bound_node,
       CASE WHEN p.reltuples < 0 THEN NULL ELSE p.reltuples::bigint END AS rows_estimate,
       (p.relpages + coalesce((SELECT t.relpages FROM pg_catalog.pg_class t
                                WHERE t.oid = p.reltoastrelid), 0))::bigint * bs.bytes
                                                      AS table_bytes,
       coalesce(idx.pages, 0) * bs.bytes              AS index_bytes,
       p.last_vacuum, p.last_autovacuum, p.last_analyze, p.last_autoanalyze,
       p.dead_tuples, p.mods_since_analyze,
       extract(epoch FROM now() - greatest(p.last_vacuum, p.last_autovacuum)) AS vacuum_age_s,
       extract(epoch FROM now() - greatest(p.last_analyze, p.last_autoanalyze)) AS analyze_age_s
  FROM (SELECT c.oid, c.relnamespace, c.relname, c.relpartbound, c.reltuples, c.relpages,
               c.reltoastrelid,
               pg_catalog.pg_stat_get_last_vacuum_time(c.oid)      AS last_vacuum,
               pg_catalog.pg_stat_get_last_autovacuum_time(c.oid)  AS last_autovacuum,
               pg_catalog.pg_stat_get_last_analyze_time(c.oid)     AS last_analyze,
               pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) AS last_autoanalyze,
               pg_catalog.pg_stat_get_dead_tuples(c.oid)           AS dead_tuples,
               pg_catalog.pg_stat_get_mod_since_analyze(c.oid)     AS mods_since_analyze
          FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = $1
        OFFSET 0) p
  CROSS JOIN (SELECT pg_catalog.current_setting('block_size')::bigint AS bytes) bs
  JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
  LEFT JOIN (SELECT x.indrelid, pg_catalog.sum(ic.relpages)::bigint AS pages
               FROM pg_catalog.pg_inherits pi
               JOIN pg_catalog.pg_index x ON x.indrelid = pi.inhrelid
               JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
              WHERE pi.inhparent = $1
              GROUP BY x.indrelid) idx ON idx.indrelid = p.oid;
