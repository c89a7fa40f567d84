-- A partition about to be detached by retention: $1 schema, $2 parent,
-- $3 partition, $4 from, $5 to, $6 job id.
INSERT INTO partd.retiring (schema_name, table_name, partition_name, range_from, range_to, job_id)
VALUES ($1, $2, $3, $4::date, $5::date, $6::bigint)
ON CONFLICT (schema_name, partition_name) DO UPDATE SET job_id = excluded.job_id;
