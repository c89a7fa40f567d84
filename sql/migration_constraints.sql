-- Primary key, unique and foreign-key constraints of a table ($1 oid) with
-- their columns (a JSON array of names), and foreign keys of other tables that point at it.
SELECT c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid) AS def,
       (SELECT pg_catalog.json_agg(a.attname ORDER BY k.ord)
          FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)::text
           AS columns,
       c.conrelid <> $1 AS incoming,
       c.conrelid::pg_catalog.regclass::text AS from_table
  FROM pg_catalog.pg_constraint c
 WHERE (c.conrelid = $1 AND c.contype IN ('p', 'u', 'f'))
    OR (c.confrelid = $1 AND c.contype = 'f' AND c.conrelid <> $1)
 ORDER BY c.contype, c.conname;
