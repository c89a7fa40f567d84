-- Who holds locks on these relations (oids), for a job's event log when
-- its DDL keeps timing out on lock_timeout.
SELECT l.pid, l.mode, a.state, pg_catalog.left(a.query, 200) AS query,
       extract(epoch FROM now() - a.xact_start)::int AS xact_age_s
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.granted AND l.relation = ANY ($1::oid[]) AND l.pid <> pg_catalog.pg_backend_pid()
 ORDER BY a.xact_start NULLS LAST
 LIMIT 5;
