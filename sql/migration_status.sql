SELECT state, job_id, rollback_deadline
  FROM partd.migrations
 WHERE schema_name = $1 AND table_name = $2;
