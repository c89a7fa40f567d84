-- The columns of a table ($1 oid), in order, with what a migration needs.
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull, a.attidentity <> '' AS is_identity, a.attgenerated <> '' AS is_generated
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
