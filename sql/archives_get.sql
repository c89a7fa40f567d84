-- One archive by id ($1) of one parent ($2 schema, $3 table).
SELECT id, partition_name, partition_column, range_from::text AS range_from,
       range_to::text AS range_to, file, manifest_file, columns::text AS columns, rows, bytes,
       raw_bytes, sha256, verified_at, job_id, created_at, restored_at, restored_as
  FROM partd.archives
 WHERE id = $1::bigint AND schema_name = $2 AND table_name = $3;
