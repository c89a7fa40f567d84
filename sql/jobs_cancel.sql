-- A queued job is cancelled on the spot; a running one is asked to stop at
-- its next safe point. A queued job that was cancelled already (handed back
-- while it stopped, with its clean-up still to do) stays queued: its next
-- attempt does the clean-up. Finished jobs are left alone (no row back).
WITH upd AS (
    UPDATE partd.jobs
       SET state = CASE WHEN state = 'queued' AND NOT cancel_requested THEN 'cancelled'
                        WHEN state = 'queued' THEN 'queued'
                        ELSE 'cancelling' END,
           cancel_requested = true,
           finished_at = CASE WHEN state = 'queued' AND NOT cancel_requested THEN now() END
     WHERE id = $1 AND state IN ('queued', 'running', 'cancelling')
    RETURNING *
), ev AS (
    INSERT INTO partd.job_events (job_id, attempt, level, phase, message)
    SELECT id, attempt, 'info', phase,
           CASE WHEN state = 'cancelled' THEN 'cancelled by ' || $2 || ' before it started'
                ELSE 'cancel requested by ' || $2 END
      FROM upd
)
-- A running job's process hears of it within a moment (worker.c's heartbeat
-- LISTENs); notified is true when a notification went.
SELECT upd.*,
       CASE WHEN upd.state = 'cancelling'
            THEN pg_catalog.pg_notify('partd_cancel', upd.id::text) END IS NOT NULL AS notified
  FROM upd;
