DELETE FROM partd.managed_tables WHERE schema_name = $1 AND table_name = $2 RETURNING 1;
