SELECT id FROM partd.jobs
 WHERE table_name = $1 AND state IN ('queued', 'running', 'cancelling');
