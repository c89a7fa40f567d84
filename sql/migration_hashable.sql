-- Whether every column of a table ($1 oid) can be checksummed by
-- hash_record_extended: a built-in base type (or an array of one) whose
-- hash agrees with its equality, and no nondeterministic collation (there
-- the hash follows the collation, not the bytes). Otherwise the validation
-- hashes each row's text form, four times slower.
SELECT coalesce(pg_catalog.bool_and(
           t.typtype = 'b'
       AND coalesce(e.typname, t.typname) IN ('bool', 'int2', 'int4', 'int8', 'oid', 'float4',
               'float8', 'numeric', 'text', 'varchar', 'bpchar', 'name', 'bytea', 'date', 'time',
               'timestamp', 'timestamptz', 'interval', 'uuid', 'jsonb', 'inet')
       AND (e.oid IS NULL OR e.typtype = 'b')
       AND (a.attcollation = 0 OR coalesce(c.collisdeterministic, true))), true)
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
  LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped;
