-- Records a verified archive of one partition (a rerun rewrites the file
-- and updates its row). $1 schema, $2 parent, $3 partition, $4 column,
-- $5 from, $6 to, $7 file, $8 manifest, $9 columns, $10 rows, $11 bytes,
-- $12 raw_bytes, $13 sha256, $14 job id.
--
-- A restore record (restored_as, restored_at) stays only while it is
-- true: the partition archived now is no longer the restore of any
-- archive that names it (a restored month retired again), and an archive
-- whose content changes no longer has the restore it had.
WITH unrestored AS (
    UPDATE partd.archives SET restored_at = NULL, restored_as = NULL
     WHERE restored_as = $1 || '.' || $3
       AND NOT (schema_name = $1 AND partition_name = $3 AND range_from = $5::date)
)
INSERT INTO partd.archives (schema_name, table_name, partition_name, partition_column,
                            range_from, range_to, file, manifest_file, columns, rows, bytes,
                            raw_bytes, sha256, verified_at, job_id)
VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, $8, $9::jsonb, $10::bigint, $11::bigint,
        $12::bigint, $13, now(), $14::bigint)
ON CONFLICT (schema_name, partition_name, range_from)
DO UPDATE SET file = excluded.file, manifest_file = excluded.manifest_file,
              columns = excluded.columns, rows = excluded.rows, bytes = excluded.bytes,
              raw_bytes = excluded.raw_bytes, sha256 = excluded.sha256,
              verified_at = excluded.verified_at, job_id = excluded.job_id,
              range_to = excluded.range_to,
              restored_at = CASE WHEN partd.archives.restored_as = excluded.schema_name || '.' || excluded.partition_name
                                   OR partd.archives.sha256 IS DISTINCT FROM excluded.sha256
                                 THEN NULL ELSE partd.archives.restored_at END,
              restored_as = CASE WHEN partd.archives.restored_as = excluded.schema_name || '.' || excluded.partition_name
                                   OR partd.archives.sha256 IS DISTINCT FROM excluded.sha256
                                 THEN NULL ELSE partd.archives.restored_as END
RETURNING id;
