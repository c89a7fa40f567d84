-- The migration row for a table, claimed by job $3: a new one, or one that
-- ended (cancelled, failed, finalized) replaced; a row this job already
-- holds (an attempt resuming) is kept. No row back: another migration of
-- the table is under way, cut over, or rolled back and not yet finalized.
WITH prev AS (
    SELECT job_id FROM partd.migrations WHERE schema_name = $1 AND table_name = $2
), up AS (
    INSERT INTO partd.migrations AS m (schema_name, table_name, state, job_id, new_name,
                                       old_name, view_name, trigger_name, function_name, plan,
                                       batch_rows, max_rows_per_s, rollback_window)
    VALUES ($1, $2, 'preparing', $3, $4, $5, $6, $7, $8, $9::jsonb, $10,
            nullif($11, '0')::integer, $12::interval)
    ON CONFLICT (schema_name, table_name) DO UPDATE
       SET state = CASE WHEN m.job_id = excluded.job_id THEN m.state ELSE 'preparing' END,
           job_id = excluded.job_id, plan = excluded.plan,
           batch_rows = CASE WHEN m.job_id = excluded.job_id THEN m.batch_rows
                             ELSE excluded.batch_rows END,
           max_rows_per_s = CASE WHEN m.job_id = excluded.job_id THEN m.max_rows_per_s
                                 ELSE excluded.max_rows_per_s END,
           rollback_window = excluded.rollback_window, cut_over_at = NULL,
           rollback_deadline = NULL, updated_at = now()
     WHERE m.job_id = excluded.job_id OR m.state IN ('cancelled', 'failed', 'finalized')
    RETURNING 1
)
SELECT coalesce((SELECT job_id FROM prev) = $3::bigint, false) AS resumed FROM up;
