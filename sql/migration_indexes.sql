-- Indexes of a table ($1 oid) that no constraint owns, with their columns
-- (a JSON array of the key columns' names: INCLUDE columns are not part of
-- what a unique index enforces).
SELECT ic.relname AS name, i.indisunique, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
       (SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = i.indrelid
           AND a.attnum = ANY ((i.indkey::pg_catalog.int2[])[0:i.indnkeyatts - 1]))::text AS columns
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = $1
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid)
 ORDER BY ic.relname;
