SELECT schema_name, table_name, policy, created_by, created_at, updated_at
  FROM partd.managed_tables
 ORDER BY schema_name, table_name;
