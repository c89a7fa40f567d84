# kill -9 of a partd mid-job: a second partd takes the job over when the
# lease runs out and finishes it from the checkpoint. Two partds never run
# one job twice.
start_partd victim PARTD_WORKERS=1 || return
api "$PORT_victim" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":30,"step_ms":200}'
K=$(jqr .id)
for i in $(seq 1 100); do
	api "$PORT_victim" GET "/v1/jobs/$K" "$READ_TOKEN"
	[ "$(jqr .progress.done)" -ge 5 ] && break
	sleep 0.1
done
victim_worker=$(jqr .worker)
done_before=$(jqr .progress.done)
kill -KILL "$PID_victim"
wait "$PID_victim" 2>/dev/null
check "the job was mid-way when partd was killed" running "$(psql_q "SELECT state FROM partd.jobs WHERE id = $K")"

start_partd rescuer PARTD_WORKERS=1 || return
wait_job "$PORT_rescuer" "$K" succeeded 30 || fail "the second partd finishes the job"
api "$PORT_rescuer" GET "/v1/jobs/$K" "$READ_TOKEN"
check "taken over in attempt 2" 2 "$(jqr .attempt)"
[ "$(jqr .worker)" != "$victim_worker" ] && pass "finished by the other process" || fail "finished by the other process"
resumed=$(jqr .result.resumed_from_step)
if [ "$resumed" -ge "$done_before" ] && [ "$resumed" -le $((done_before + 2)) ]; then
	pass "resumed from the checkpoint (step $resumed; $done_before seen done before the kill)"
else
	fail "resumed from the checkpoint" "resumed after step $resumed, $done_before seen done"
fi
check "all 30 steps done" 30 "$(jqr .progress.done)"
api "$PORT_rescuer" GET "/v1/jobs/$K/events" "$READ_TOKEN"
check_match "the takeover is in the events" "the lease of $victim_worker ran out" "$(jqr '[.events[].message] | join("|")')"
check_match "the resume is in the events" "resuming from the checkpoint after step $resumed" "$(jqr '[.events[].message] | join("|")')"
stop_partd "$PID_rescuer" || fail "partd stops cleanly" "exit $?"

# Two partds, three workers each, forty jobs: each runs exactly once.
psql_q "DELETE FROM partd.jobs" >/dev/null
start_partd twin1 PARTD_WORKERS=3 || return
start_partd twin2 PARTD_WORKERS=3 || return
for i in $(seq 1 40); do
	api "$PORT_twin1" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":2,"step_ms":20}'
done
for i in $(seq 1 150); do
	[ "$(psql_q "SELECT count(*) FROM partd.jobs WHERE state = 'succeeded'")" = 40 ] && break
	sleep 0.2
done
check "all forty jobs succeeded" 40 "$(psql_q "SELECT count(*) FROM partd.jobs WHERE state = 'succeeded'")"
check "no job ran a second attempt" 0 "$(psql_q "SELECT count(*) FROM partd.jobs WHERE attempt <> 1")"
check "each job was started exactly once" 0 "$(psql_q "SELECT count(*) FROM (SELECT job_id FROM partd.job_events WHERE message LIKE 'attempt % started%' GROUP BY job_id HAVING count(*) <> 1) x")"
echo "       (jobs per process: $(psql_q "SELECT string_agg(n::text, ' ') FROM (SELECT count(*) n FROM partd.jobs GROUP BY split_part(worker, ':', 2)) x"))"
stop_partd "$PID_twin1" || fail "partd stops cleanly" "exit $?"
stop_partd "$PID_twin2" || fail "partd stops cleanly" "exit $?"
