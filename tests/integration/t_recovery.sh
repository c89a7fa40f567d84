# PostgreSQL goes away and comes back: /healthz stays 200, /readyz says
# what failed, requests get 503 with Retry-After, and partd recovers by
# itself with no restart.
start_partd survivor PARTD_WORKERS=1 PARTD_POOL_IDLE_CHECK_S=0 || return
P=$PORT_survivor
wait_ready "$P" || fail "ready before the outage"
api "$P" GET /v1/jobs "$READ_TOKEN"
check "requests work before the outage" 200 "$STATUS"

"$PGC" stop "$WORK/pg" >/dev/null 2>&1
api "$P" GET /healthz
check "healthz stays 200 while the database is down" 200 "$STATUS"
api "$P" GET /readyz
check "readyz 503 while the database is down" 503 "$STATUS"
check_match "readyz names the failed check" '^not ready: database: ' "$(jqr .detail)"
check_match "readyz lists every check" 'not checked' "$(jqr .checks.control_schema)"
api "$P" GET /v1/jobs "$READ_TOKEN"
check "a request during the outage 503" 503 "$STATUS"
check "503 carries Retry-After" 1 "$(header Retry-After)"
check_match "503 says the database is not available" 'database is not available' "$(jqr .detail)"

"$PGC" start "$WORK/pg" --fast >/dev/null 2>"$WORK/restart.err" || cat "$WORK/restart.err"
wait_ready "$P" 20 && pass "readyz 200 again without a restart" || fail "readyz recovers"
api "$P" GET /v1/jobs "$READ_TOKEN"
check "requests work again" 200 "$STATUS"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":2,"step_ms":10}'
wait_job "$P" "$(jqr .id)" succeeded 20 && pass "workers reconnected and run jobs" || fail "workers run jobs after the outage"

# A job running when the database dies is resumed once it returns.
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":20,"step_ms":150}'
D=$(jqr .id)
wait_job "$P" "$D" running 5
sleep 1
"$PGC" restart "$WORK/pg" >/dev/null 2>&1
wait_job "$P" "$D" succeeded 40 && pass "a job cut off by a database restart finishes" || fail "job survives a database restart" "$BODY"
stop_partd "$PID_survivor" || fail "partd stops cleanly" "exit $?"
