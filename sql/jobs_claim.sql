-- Claim one job: a queued one whose time has come, or one whose lease ran
-- out because the process running it died. SKIP LOCKED lets every worker
-- of every replica scan at once without two of them taking the same row.
-- $1 worker name, $2 lease in seconds.
WITH candidate AS (
    SELECT id, state AS prev_state, worker AS prev_worker
      FROM partd.jobs
     WHERE state IN ('queued', 'running', 'cancelling')
       AND CASE WHEN state = 'queued' THEN run_after <= now()
                ELSE lease_until < now() END
     ORDER BY id
     LIMIT 1
       FOR UPDATE SKIP LOCKED
)
UPDATE partd.jobs AS j
   SET state = CASE WHEN j.cancel_requested THEN 'cancelling' ELSE 'running' END,
       attempt = j.attempt + 1,
       worker = $1,
       lease_until = now() + pg_catalog.make_interval(secs => $2),
       heartbeat_at = now(),
       started_at = coalesce(j.started_at, now()),
       progress_base_done = j.progress_done,
       progress_base_at = now(),
       progress_rate = NULL
  FROM candidate AS c
 WHERE j.id = c.id
RETURNING j.*, c.prev_state, c.prev_worker;
