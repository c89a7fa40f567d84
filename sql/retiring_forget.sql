-- Rows of partd.retiring for $1 schema, $2 parent whose table is gone.
DELETE FROM partd.retiring r
 WHERE r.schema_name = $1 AND r.table_name = $2
   AND pg_catalog.to_regclass(pg_catalog.quote_ident(r.schema_name) || '.' ||
                              pg_catalog.quote_ident(r.partition_name)) IS NULL;
