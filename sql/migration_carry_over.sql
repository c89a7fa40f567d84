-- What the table $1.$2 hands on to the table taking its name ($3, already
-- quoted "schema"."table"), one statement per row: its grants, the
-- sequences its columns own, then its owner.
WITH src AS (
    SELECT c.oid, c.relacl, c.relowner
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2
)
SELECT stmt FROM (
    SELECT 1 AS ord, 'GRANT ' || a.privilege_type || ' ON ' || $3 || ' TO ' ||
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END ||
           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS stmt
      FROM src
     CROSS JOIN LATERAL pg_catalog.aclexplode(src.relacl) a
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
     WHERE a.grantee <> src.relowner
     UNION ALL
    SELECT 2, 'ALTER SEQUENCE ' || d.objid::pg_catalog.regclass::text || ' OWNED BY ' || $3 ||
           '.' || pg_catalog.quote_ident(a.attname)
      FROM src
      JOIN pg_catalog.pg_depend d ON d.refobjid = src.oid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'a'
       AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = d.objid) = 'S'
     UNION ALL
    SELECT 3, 'ALTER TABLE ' || $3 || ' OWNER TO ' || pg_catalog.quote_ident(r.rolname)
      FROM src
      JOIN pg_catalog.pg_roles r ON r.oid = src.relowner
     WHERE r.rolname <> current_user
) s
ORDER BY ord
