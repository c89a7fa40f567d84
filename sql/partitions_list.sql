-- Every partition of one parent (by oid, $1) in one catalog query: its
-- bound (relpartbound as stored; service/bound.c decodes it, instead of a
-- pg_get_expr deparse per row), sizes and statistics. It must stay fast at
-- 10,000 partitions, so it opens no relation: sizes come from relpages (as
-- of the last VACUUM/ANALYZE; ?exact=true measures them) and statistics
-- from the pg_stat_get_* functions of each oid, not from
-- pg_stat_all_tables, which would compute a row for every table in the
-- database.
WITH parts AS MATERIALIZED (
    -- narrow: the bounds (some 600 bytes of node text each) would make this
    -- spill past work_mem at 10,000 partitions; they are read by oid below
    SELECT c.oid, c.relnamespace, c.relname, c.reltuples, c.relpages, c.reltoastrelid
      FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1
), idx AS (
    SELECT i.indrelid, pg_catalog.sum(ic.relpages)::bigint AS pages
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indrelid IN (SELECT oid FROM parts)
     GROUP BY i.indrelid
), st AS MATERIALIZED (
    -- each statistic read once per partition: the ages below reuse them
    SELECT oid,
           pg_catalog.pg_stat_get_last_vacuum_time(oid)      AS last_vacuum,
           pg_catalog.pg_stat_get_last_autovacuum_time(oid)  AS last_autovacuum,
           pg_catalog.pg_stat_get_last_analyze_time(oid)     AS last_analyze,
           pg_catalog.pg_stat_get_last_autoanalyze_time(oid) AS last_autoanalyze,
           pg_catalog.pg_stat_get_dead_tuples(oid)           AS dead_tuples,
           pg_catalog.pg_stat_get_mod_since_analyze(oid)     AS mods_since_analyze
      FROM parts
)
SELECT n.nspname                                      AS schema_name,
       p.relname                                      AS name,
       b.relpartbound::text                           AS bound_node,
       CASE WHEN p.reltuples < 0 THEN NULL ELSE p.reltuples::bigint END AS rows_estimate,
       (p.relpages + coalesce(t.relpages, 0))::bigint * pg_catalog.current_setting('block_size')::bigint
                                                      AS table_bytes,
       coalesce(idx.pages, 0) * pg_catalog.current_setting('block_size')::bigint AS index_bytes,
       st.last_vacuum, st.last_autovacuum, st.last_analyze, st.last_autoanalyze,
       st.dead_tuples, st.mods_since_analyze,
       extract(epoch FROM now() - greatest(st.last_vacuum, st.last_autovacuum)) AS vacuum_age_s,
       extract(epoch FROM now() - greatest(st.last_analyze, st.last_autoanalyze)) AS analyze_age_s
  FROM parts p
  JOIN st ON st.oid = p.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
  JOIN pg_catalog.pg_class b ON b.oid = p.oid
  LEFT JOIN pg_catalog.pg_class t ON t.oid = p.reltoastrelid
  LEFT JOIN idx ON idx.indrelid = p.oid;
