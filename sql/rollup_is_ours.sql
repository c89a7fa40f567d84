-- Whether $1.$2 is a rollup table partd made (its comment says so).
SELECT coalesce(pg_catalog.obj_description(
           pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2)),
           'pg_class') LIKE 'partd: %', false) AS ours;
