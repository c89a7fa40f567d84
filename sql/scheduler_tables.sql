SELECT schema_name, table_name FROM partd.managed_tables ORDER BY schema_name, table_name;
