-- The equality operator the sync trigger's function compares each key
-- column with ($1: the table's oid; $2: the key's column names, a JSON
-- array, in order). The function runs with search_path '', where a bare
-- `=` finds only pg_catalog's operators: for a key of an extension's type
-- (ltree) it finds none and every write fails; for citext it finds text's,
-- which the key's index cannot serve. So: the operator of the type's
-- default btree operator class (a domain's: its base type's), named with
-- its schema; '=' when that is pg_catalog's, or when the type has no class
-- of its own (varchar, enums, arrays: pg_catalog's operators take them).
SELECT k.name,
       coalesce((SELECT CASE WHEN n.nspname = 'pg_catalog' THEN '='
                             ELSE format('OPERATOR(%I.%s)', n.nspname, o.oprname) END
                   FROM pg_catalog.pg_opclass oc
                   JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
                   JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily
                        AND ao.amopstrategy = 3 AND ao.amoplefttype = oc.opcintype
                        AND ao.amoprighttype = oc.opcintype
                   JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
                   JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
                  WHERE oc.opcdefault
                    AND oc.opcintype = CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE t.oid END
                  LIMIT 1), '=') AS eq
  FROM pg_catalog.json_array_elements_text($2::json) WITH ORDINALITY AS k(name, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attname = k.name AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
 ORDER BY k.ord;
