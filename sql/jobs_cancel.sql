-- A queued job is cancelled on the spot; a running one is asked to stop at
-- its next safe point. Finished jobs are left alone (no row back).
WITH upd AS (
    UPDATE partd.jobs
       SET state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE 'cancelling' END,
           cancel_requested = true,
           finished_at = CASE WHEN state = 'queued' THEN now() END
     WHERE id = $1 AND state IN ('queued', 'running', 'cancelling')
    RETURNING *
), ev AS (
    INSERT INTO partd.job_events (job_id, attempt, level, phase, message)
    SELECT id, attempt, 'info', phase,
           CASE WHEN state = 'cancelled' THEN 'cancelled by ' || $2 || ' before it started'
                ELSE 'cancel requested by ' || $2 END
      FROM upd
)
SELECT * FROM upd;
