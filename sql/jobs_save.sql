-- Store progress and the checkpoint a new attempt resumes from. Fenced by
-- worker and attempt: a worker that lost its lease writes nothing.
-- $1 id, $2 worker, $3 attempt, $4 phase, $5 done, $6 total, $7 unit,
-- $8 checkpoint (NULL keeps the stored one).
UPDATE partd.jobs
   SET phase = $4,
       progress_done = $5,
       progress_total = $6,
       progress_unit = $7,
       progress_rate = ($5 - progress_base_done)
           / greatest(extract(epoch FROM clock_timestamp() - progress_base_at), 0.001),
       checkpoint = coalesce($8::jsonb, checkpoint),
       heartbeat_at = now()
 WHERE id = $1 AND worker = $2 AND attempt = $3
   AND state IN ('running', 'cancelling')
RETURNING cancel_requested;
