DELETE FROM partd.retiring WHERE schema_name = $1 AND partition_name = $2;
