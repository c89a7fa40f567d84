INSERT INTO partd.managed_tables (schema_name, table_name, policy, created_by)
VALUES ($1, $2, $3::jsonb, $4)
ON CONFLICT (schema_name, table_name)
DO UPDATE SET policy = excluded.policy, updated_at = now()
RETURNING (xmax = 0) AS created;
