SELECT schema_name, table_name, policy, created_by, created_at, updated_at
  FROM partd.managed_tables
 WHERE schema_name = $1 AND table_name = $2;
