-- Whether a retention.run job for table $1 was made since $2 (the
-- scheduler's once-a-day check).
SELECT EXISTS (SELECT 1 FROM partd.jobs
                WHERE kind = 'retention.run' AND table_name = $1
                  AND created_at >= $2::timestamptz) AS ran;
