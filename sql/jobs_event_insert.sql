INSERT INTO partd.job_events (job_id, attempt, level, phase, message, data)
VALUES ($1, $2, $3, $4, $5, $6::jsonb);
