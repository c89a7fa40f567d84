-- The equality operator to compare each of some columns of one table
-- with ($1: the table's oid; $2: the column names, a JSON array), in the
-- order given. partd's sessions and the sync trigger's function run with
-- search_path '', where a bare `=` (or IS NOT DISTINCT FROM) finds only
-- pg_catalog's operators: for an extension's type (ltree) it finds none,
-- and for citext it finds text's, which a citext index cannot serve. So:
-- the operator of the type's default btree operator class (a domain's: its
-- base type's), named with its schema; '=' when that is pg_catalog's, or
-- when the type has no class of its own (varchar, enums, arrays:
-- pg_catalog's operators take them).
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
