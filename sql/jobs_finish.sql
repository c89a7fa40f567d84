-- End an attempt. $4 is the new state: a terminal one, or 'queued' to run
-- again after $8 seconds (a retry, or a job handed back at shutdown).
-- $5 result, $6 error, $7 progress done. Fenced like jobs_save.
UPDATE partd.jobs
   SET state = $4,
       result = coalesce($5::jsonb, result),
       error = coalesce($6::jsonb, error),
       progress_done = coalesce($7, progress_done),
       finished_at = CASE WHEN $4 IN ('succeeded', 'failed', 'cancelled')
                          THEN now() END,
       run_after = now() + pg_catalog.make_interval(secs => coalesce($8, 0)),
       lease_until = NULL,
       worker = CASE WHEN $4 = 'queued' THEN NULL ELSE worker END
 WHERE id = $1 AND worker = $2 AND attempt = $3
   AND state IN ('running', 'cancelling')
RETURNING *, extract(epoch FROM finished_at - started_at) AS duration_s;
