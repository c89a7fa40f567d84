# The job lifecycle: progress, events, cancel, retries, idempotency, one
# active job per table, listing with filters and cursor paging.
start_partd jobs PARTD_WORKERS=2 || return
P=$PORT_jobs
wait_ready "$P" || fail "ready"

api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":6,"step_ms":300}'
check "enqueue 202" 202 "$STATUS"
J=$(jqr .id)
check "Location header" "/v1/jobs/$J" "$(header Location)"
check "new job is queued with kind and params" "queued diagnostic.sleep 6 300" \
	"$(jqr '[.state, .kind, .params.steps, .params.step_ms] | join(" ")')"
wait_job "$P" "$J" running 5 || fail "job starts running"
sleep 1
api "$P" GET "/v1/jobs/$J" "$READ_TOKEN"
check "running job shows progress in steps" "steps 6" "$(jqr '[.progress.unit, .progress.total] | join(" ")')"
check_match "progress has percent, rate and eta" '^[0-9.]+ [0-9.]+ [0-9.]+$' \
	"$(jqr '[.progress.percent, .progress.rate_per_s, .progress.eta_s] | map(tostring) | join(" ")')"
check_match "running job names its worker" ':w[0-9]+$' "$(jqr .worker)"
check_match "heartbeat_at is set" 'Z$' "$(jqr .heartbeat_at)"
wait_job "$P" "$J" succeeded 10 || fail "job succeeds"
check "succeeded job: 100 %, result, finished_at" "100 6 true" \
	"$(jqr '[.progress.percent, .result.steps, (.finished_at != null)] | map(tostring) | join(" ")')"
api "$P" GET "/v1/jobs/$J/events" "$READ_TOKEN"
check "events: queued, started, succeeded" "queued by alice|attempt 1 started|succeeded" \
	"$(jqr '[.events[].message | sub(" on .*"; "")] | join("|")')"

# Cancel a queued job: long job on one table blocks nothing else; use a
# second queued job that cannot start because workers are busy.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":100,"step_ms":100}'
R1=$(jqr .id)
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":100,"step_ms":100}'
R2=$(jqr .id)
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":100,"step_ms":100}'
Q=$(jqr .id)
wait_job "$P" "$R1" running 5 && wait_job "$P" "$R2" running 5 || fail "two workers run two jobs"
api "$P" GET "/v1/jobs/$Q" "$READ_TOKEN"
check "third job waits while both workers are busy" queued "$(jqr .state)"
api "$P" POST "/v1/jobs/$Q/cancel" "$OPERATE_TOKEN"
check "cancel of a queued job: 202 cancelled" "202 cancelled" "$STATUS $(jqr .state)"
api "$P" POST "/v1/jobs/$R1/cancel" "$OPERATE_TOKEN"
check "cancel of a running job: 202 cancelling" "202 cancelling" "$STATUS $(jqr .state)"
wait_job "$P" "$R1" cancelled 5 && pass "running job stops at its next safe point" || fail "running job cancelled"
api "$P" GET "/v1/jobs/$R1" "$READ_TOKEN"
[ "$(jqr .progress.done)" -lt 100 ] && pass "cancelled job stopped early" || fail "cancelled job stopped early"
api "$P" POST "/v1/jobs/$R1/cancel" "$OPERATE_TOKEN"
check "cancel of a finished job 409" 409 "$STATUS"
check_match "409 says it already finished" 'already cancelled' "$(jqr .detail)"
api "$P" POST /v1/jobs/987654/cancel "$OPERATE_TOKEN"
check "cancel of a missing job 404" 404 "$STATUS"
api "$P" GET "/v1/jobs/$R1/events" "$READ_TOKEN"
check_match "cancel is in the events" 'cancel requested by olivia.*cancelled at a safe point' "$(jqr '[.events[].message] | join("|")')"
api "$P" POST "/v1/jobs/$R2/cancel" "$OPERATE_TOKEN"
wait_job "$P" "$R2" cancelled 5 || fail "second running job cancelled"

# Retries: the step fails in attempt 1 and passes in attempt 2; every
# attempt's error stays in the events.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":3,"step_ms":10,"fail_at_step":2}'
F=$(jqr .id)
wait_job "$P" "$F" succeeded 15 || fail "retried job succeeds"
api "$P" GET "/v1/jobs/$F" "$READ_TOKEN"
check "retried job: attempt 2, resumed after step 1" "2 1" "$(jqr '[.attempt, .result.resumed_from_step] | map(tostring) | join(" ")')"
api "$P" GET "/v1/jobs/$F/events" "$READ_TOKEN"
check_match "failed attempt's error kept in events" 'attempt 1 failed: step 2 failed on purpose.*retrying in' "$(jqr '[.events[].message] | join("|")')"
check "error event carries the problem" /problems/job-failed "$(jqr '[.events[] | select(.level=="error")][0].data.type')"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":2,"step_ms":10,"fail_at_step":1,"fail_attempts":5}'
F2=$(jqr .id)
wait_job "$P" "$F2" failed 30 || fail "job that always fails ends failed"
api "$P" GET "/v1/jobs/$F2" "$READ_TOKEN"
check "failed job: 3 attempts and its error" "3 /problems/job-failed" "$(jqr '[.attempt, .error.type] | map(tostring) | join(" ")')"

# Idempotency.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"step_ms":0}' -H 'Idempotency-Key: k-1'
I1=$(jqr .id)
check "first use of a key 202" 202 "$STATUS"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{ "step_ms":0, "steps":1 }' -H 'Idempotency-Key: k-1'
check "same key, same body: the original job" "202 $I1 true" "$STATUS $(jqr .id) $(header Idempotency-Replayed)"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":2,"step_ms":0}' -H 'Idempotency-Key: k-1'
check "same key, other body: 422" 422 "$STATUS"
check_match "422 names the original job" "job $I1" "$(jqr .detail)"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1}' -H "Idempotency-Key: $(head -c 300 /dev/zero | tr '\0' k)"
check "overlong Idempotency-Key 400" 400 "$STATUS"

# One active job per table, enforced by the unique index.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":50,"step_ms":100,"table":"public.events"}'
T1=$(jqr .id)
check "job on a table normalizes its name" public.events "$(jqr .table)"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"table":"events"}'
check "second active job on the table 409" 409 "$STATUS"
check "409 names the active job" "$T1" "$(jqr .active_job_id)"
check_match "409 says what to do" "cancel it with POST /v1/jobs/$T1/cancel" "$(jqr .detail)"
n=$(psql_q "SELECT count(*) FROM partd.jobs WHERE table_name = 'public.events'")
check "the refused job was not stored" 1 "$n"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"step_ms":0,"table":"public.other"}'
check "another table is not blocked" 202 "$STATUS"
api "$P" POST "/v1/jobs/$T1/cancel" "$OPERATE_TOKEN"
wait_job "$P" "$T1" cancelled 5
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"step_ms":0,"table":"events"}'
check "after it ends, the table takes a new job" 202 "$STATUS"

api "$P" GET '/v1/jobs?limit=5' "$READ_TOKEN" "" -H 'Accept: text/plain'
check_match "text/plain job list for curl" '^ID +KIND +TABLE +STATE' "$(head -1 "$WORK/body")"
check "text/plain job list: a header and five jobs" 6 "$(wc -l <"$WORK/body")"

# Listing: filters and cursor paging.
api "$P" GET '/v1/jobs?state=cancelled' "$READ_TOKEN"
check "filter by state" cancelled "$(jqr '[.jobs[].state] | unique | join(",")')"
api "$P" GET '/v1/jobs?table=events' "$READ_TOKEN"
check "filter by table (bare name means public)" public.events "$(jqr '[.jobs[].table] | unique | join(",")')"
api "$P" GET '/v1/jobs?kind=diagnostic.sleep&limit=3' "$READ_TOKEN"
total=$(psql_q "SELECT count(*) FROM partd.jobs WHERE kind = 'diagnostic.sleep'")
seen=$(jqr '.jobs | length'); ids=$(jqr '[.jobs[].id] | map(tostring) | join(" ")')
cursor=$(jqr '.next_cursor // empty')
while [ -n "$cursor" ]; do
	api "$P" GET "/v1/jobs?kind=diagnostic.sleep&limit=3&cursor=$cursor" "$READ_TOKEN"
	seen=$((seen + $(jqr '.jobs | length')))
	ids="$ids $(jqr '[.jobs[].id] | map(tostring) | join(" ")')"
	cursor=$(jqr '.next_cursor // empty')
done
check "paging visits every job once" "$total $total" "$seen $(echo $ids | tr ' ' '\n' | sort -u | wc -l)"
check "pages are newest first" "$(echo $ids | tr ' ' '\n' | sort -rn | tr '\n' ' ')" "$(echo $ids | tr ' ' '\n' | tr '\n' ' ')"
api "$P" GET "/v1/jobs/$F/events?limit=1" "$READ_TOKEN"
c=$(jqr .next_cursor); first=$(jqr '.events[0].id')
api "$P" GET "/v1/jobs/$F/events?limit=1&cursor=$c" "$READ_TOKEN"
[ "$(jqr '.events[0].id')" -gt "$first" ] && pass "events page forward" || fail "events page forward"

api "$P" GET /metrics
check_match "metrics: jobs by kind and state" 'partd_jobs\{kind="diagnostic.sleep",state="succeeded"\} [0-9]+' "$BODY"
check_match "metrics: job durations" 'partd_job_duration_seconds_count\{kind="diagnostic.sleep",state="succeeded"\} [0-9]+' "$BODY"

# Shutdown hands a running job back; the next partd resumes it.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":40,"step_ms":100}'
S=$(jqr .id)
wait_job "$P" "$S" running 5
sleep 1
stop_partd "$PID_jobs" || fail "partd stops cleanly with a job running" "exit $?"
check "a job running at shutdown is handed back" queued "$(psql_q "SELECT state FROM partd.jobs WHERE id = $S")"
start_partd jobs2 || return
wait_job "$PORT_jobs2" "$S" succeeded 15 || fail "handed-back job finishes on the next partd"
api "$PORT_jobs2" GET "/v1/jobs/$S" "$READ_TOKEN"
[ "$(jqr .result.resumed_from_step)" -gt 0 ] && pass "it resumed from its checkpoint" || fail "resumed from checkpoint" "$BODY"

# A job handed back to the queue while it was stopping for a cancel (a
# shutdown, or its session lost, during the clean-up) is queued with
# cancel_requested: a cancel then must not finish it on the spot, which
# would skip the clean-up its next attempt does; the next attempt stops at
# once and ends cancelled.
api "$PORT_jobs2" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":100,"step_ms":100}'
H=$(jqr .id)
wait_job "$PORT_jobs2" "$H" running 5 || fail "job $H runs" "$BODY"
stop_partd "$PID_jobs2" || fail "partd stops cleanly" "exit $?"
psql_q "UPDATE partd.jobs SET cancel_requested = true, run_after = now() + interval '1 hour' WHERE id = $H AND state = 'queued'" >/dev/null
start_partd jobs3 || return
api "$PORT_jobs3" POST "/v1/jobs/$H/cancel" "$OPERATE_TOKEN"
check "a cancel of a queued job already cancelling leaves it queued for its clean-up" "202 queued true" \
	"$STATUS $(jqr .state) $(jqr .cancel_requested)"
psql_q "UPDATE partd.jobs SET run_after = now() WHERE id = $H" >/dev/null
wait_job "$PORT_jobs3" "$H" cancelled 10 || fail "its next attempt ends it cancelled" "$BODY"
api "$PORT_jobs3" GET "/v1/jobs/$H/events?limit=100" "$READ_TOKEN"
check "the next attempt stopped at its first safe point" "cancelled at a safe point" \
	"$(jqr '[.events[] | select(.attempt == 2)] | last | .message')"
stop_partd "$PID_jobs3" || fail "partd stops cleanly" "exit $?"
