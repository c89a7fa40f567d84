# Two partds, each with a scheduler every second: only the lock holder
# acts, and each coming partition is made exactly once, by jobs created_by
# scheduler that anyone can see in /v1/jobs.
psql_q "CREATE TABLE public.sch (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at)" >/dev/null
start_partd sched1 PARTD_SCHEDULER_INTERVAL_S=1 || return
start_partd sched2 PARTD_SCHEDULER_INTERVAL_S=1 || return
api "$PORT_sched1" PUT /v1/tables/public.sch "$ADMIN_TOKEN" '{"partition_column":"at","premake":2}'
check "register a timestamptz-partitioned table" 201 "$STATUS"
for i in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.sch'::regclass")" -ge 3 ] && break
	sleep 0.2
done
sleep 3 # more passes, by both schedulers
check "the scheduler made current + premake partitions" 3 "$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.sch'::regclass")"
api "$PORT_sched2" GET '/v1/jobs?table=public.sch' "$READ_TOKEN"
check "its jobs are created_by scheduler" scheduler "$(jqr '[.jobs[].created_by] | unique | join(",")')"
check "each partition made exactly once" "" \
	"$(psql_q "SELECT n FROM (SELECT jsonb_array_elements_text(result->'created') n FROM partd.jobs WHERE table_name = 'public.sch') x GROUP BY n HAVING count(*) > 1")"
leaders=$(grep -l 'holds the scheduler lock' "$WORK/partd-sched1.log" "$WORK/partd-sched2.log" | wc -l)
check "only one replica holds the scheduler lock" 1 "$leaders"
passes=$(grep -h '"msg":"scheduler pass"' "$WORK/partd-sched1.log" "$WORK/partd-sched2.log" | grep -c '"enqueued":0')
[ "$passes" -ge 2 ] && pass "later passes find nothing to do ($passes)" || fail "idle scheduler passes"
api "$PORT_sched1" GET /v1/tables/public.sch "$READ_TOKEN"
check "no missing partitions now" 0 "$(jqr '[.alerts[] | select(.code == "partitions_missing")] | length')"
check "timestamptz bounds parsed" 2 "$(jqr .summary.runway)"
api "$PORT_sched1" GET /metrics
check_match "scheduler pass duration in metrics" 'partd_scheduler_last_pass_seconds [0-9.]+' \
	"$BODY$(curl -s "http://127.0.0.1:$PORT_sched2/metrics")"
stop_partd "$PID_sched1" || fail "partd stops cleanly" "exit $?"
stop_partd "$PID_sched2" || fail "partd stops cleanly" "exit $?"
