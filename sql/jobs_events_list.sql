-- Oldest first. $1 job, $2 cursor (id to continue after), $3 page size.
SELECT id, job_id, at, attempt, level, phase, message, data
  FROM partd.job_events
 WHERE job_id = $1
   AND ($2::bigint IS NULL OR id > $2)
 ORDER BY id
 LIMIT $3;
