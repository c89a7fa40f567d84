-- Renew the lease of a job this worker holds. No row back means the job is
-- no longer ours (its lease ran out and someone else claimed it).
-- $1 id, $2 worker, $3 attempt, $4 lease in seconds.
UPDATE partd.jobs
   SET heartbeat_at = now(),
       lease_until = now() + pg_catalog.make_interval(secs => $4)
 WHERE id = $1 AND worker = $2 AND attempt = $3
   AND state IN ('running', 'cancelling')
RETURNING cancel_requested;
