SELECT kind, state, count(*) FROM partd.jobs GROUP BY kind, state ORDER BY kind, state;
