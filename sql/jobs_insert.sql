-- Enqueue a job. $1 kind, $2 table or NULL, $3 params, $4 max attempts,
-- $5 created_by, $6 idempotency key or NULL, $7 request hash or NULL.
-- No row comes back when the idempotency key is already taken; a second
-- active job on one table fails on jobs_one_active_per_table.
WITH ins AS (
    INSERT INTO partd.jobs (kind, table_name, params, max_attempts,
                            created_by, idempotency_key, request_hash)
    VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
), ev AS (
    INSERT INTO partd.job_events (job_id, attempt, level, message)
    SELECT id, 0, 'info', 'queued by ' || created_by FROM ins
)
SELECT ins.*, pg_catalog.pg_notify('partd_jobs', ins.kind) IS NOT NULL AS notified
  FROM ins;
