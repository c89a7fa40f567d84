-- The archives of one parent ($1 schema, $2 table), oldest range first.
SELECT id, partition_name, partition_column, range_from::text AS range_from,
       range_to::text AS range_to, file, manifest_file, columns::text AS columns, rows, bytes,
       raw_bytes, sha256, verified_at, job_id, created_at, restored_at, restored_as
  FROM partd.archives
 WHERE schema_name = $1 AND table_name = $2
 ORDER BY range_from, id;
