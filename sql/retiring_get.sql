-- The partd.retiring row of partition $2 in schema $1, if any.
SELECT table_name, range_from, range_to, job_id
  FROM partd.retiring
 WHERE schema_name = $1 AND partition_name = $2;
