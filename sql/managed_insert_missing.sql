-- Registers a rollup table partd made ($1 schema, $2 table, $3 policy,
-- $4 by), leaving an existing registration as it is.
INSERT INTO partd.managed_tables (schema_name, table_name, policy, created_by)
VALUES ($1, $2, $3::jsonb, $4)
ON CONFLICT (schema_name, table_name) DO NOTHING;
