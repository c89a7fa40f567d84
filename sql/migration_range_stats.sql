-- The first and last day of a column's values ($1 schema, $2 table, $3
-- column) as ANALYZE sampled them: the ends of its histogram and its most
-- common values. An estimate, for a plan that cannot afford min/max over
-- the table; NULLs when the column has no statistics. anyarray reads back
-- through its text form (timestamp accepts a date or a timestamptz's
-- text). Infinities are left out, as the exact reads leave them out.
SELECT pg_catalog.min(v)::date::text, pg_catalog.max(v)::date::text
  FROM (SELECT pg_catalog.unnest(s.histogram_bounds::text::timestamp[]) AS v
          FROM pg_catalog.pg_stats s
         WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3
        UNION ALL
        SELECT pg_catalog.unnest(s.most_common_vals::text::timestamp[])
          FROM pg_catalog.pg_stats s
         WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3) x
 WHERE pg_catalog.isfinite(x.v);
