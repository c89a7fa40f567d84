# HTTP basics: open routes, 400/404/405/413, request ids, problem+json.
start_partd http PARTD_BODY_LIMIT=2048 || return
P=$PORT_http
wait_ready "$P" || fail "partd becomes ready"

api "$P" GET /healthz
check "healthz 200" 200 "$STATUS"
check "healthz body" ok "$(jqr .status)"

api "$P" GET /readyz
check "readyz 200" 200 "$STATUS"
check "readyz checks" "ok ok ok" "$(jqr '[.checks.database, .checks.control_schema, .checks.workers] | join(" ")')"

api "$P" GET /openapi.yaml
check "openapi served" 200 "$STATUS"
check_match "openapi is the 3.1 contract" '^openapi: 3\.1' "$(head -1 "$WORK/body")"
check "openapi content type" application/yaml "$(header Content-Type)"

api "$P" GET /nope
check "unknown route 404" 404 "$STATUS"
check "404 is problem+json" application/problem+json "$(header Content-Type)"
check "problem has type, title, status, detail, request_id" "/problems/not-found|Not found|404|true|true" \
	"$(jqr '[.type, .title, (.status|tostring), (.detail|length>0|tostring), (.request_id|length>0|tostring)] | join("|")')"

api "$P" DELETE /v1/jobs "$ADMIN_TOKEN"
check "wrong method 405" 405 "$STATUS"
check "405 Allow header" GET "$(header Allow)"
api "$P" GET /v1/jobs/1/cancel "$ADMIN_TOKEN"
check "405 on cancel with GET" "405 POST" "$STATUS $(header Allow)"

api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps": 2,'
check "malformed JSON 400" 400 "$STATUS"
check_match "400 says where JSON broke" 'line 1, column [0-9]+' "$(jqr .detail)"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '[1,2]'
check "non-object body 400" 400 "$STATUS"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"steps":2}'
check "duplicate keys 400" 400 "$STATUS"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"stpes":2}'
check "unknown field 400 names it" "400 stpes" "$STATUS $(jqr '.errors[0].field')"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":0}'
check "out-of-range field 400" "400 steps" "$STATUS $(jqr '.errors[0].field')"
api "$P" POST /v1/jobs/1/cancel "$ADMIN_TOKEN" '{"x":1}'
check "body on a body-less route 400" 400 "$STATUS"

big=$(head -c 5000 /dev/zero | tr '\0' 'x')
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" "{\"pad\":\"$big\"}"
check "body over the limit 413" 413 "$STATUS"
check_match "413 names the limit" '2048 bytes' "$(jqr .detail)"
# Chunked upload: no Content-Length, the cap is enforced while reading.
STATUS=$(printf '{"pad":"%s"}' "$big" | curl -s -o "$WORK/body" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Transfer-Encoding: chunked' \
	--data-binary @- "http://127.0.0.1:$P/v1/diagnostics/sleep")
check "chunked body over the limit 413" 413 "$STATUS"

api "$P" GET '/v1/jobs?limit=0' "$READ_TOKEN"
check "limit out of range 400" 400 "$STATUS"
api "$P" GET '/v1/jobs?state=sleeping' "$READ_TOKEN"
check "unknown state 400 names it" "400 state" "$STATUS $(jqr '.errors[0].field')"
api "$P" GET '/v1/jobs?bogus=1' "$READ_TOKEN"
check "unknown query parameter 400" 400 "$STATUS"
api "$P" GET "/v1/jobs?table=a;drop%20table%20x" "$READ_TOKEN"
check "hostile table filter 400" 400 "$STATUS"
api "$P" GET '/v1/jobs?cursor=abc' "$READ_TOKEN"
check "bad cursor 400" 400 "$STATUS"
api "$P" GET /v1/jobs/abc "$READ_TOKEN"
check "non-numeric job id 400" 400 "$STATUS"
api "$P" GET /v1/jobs/999999 "$READ_TOKEN"
check "missing job 404" 404 "$STATUS"
api "$P" GET /v1/jobs/999999/events "$READ_TOKEN"
check "events of a missing job 404" 404 "$STATUS"

api "$P" GET /healthz "" "" -H 'X-Request-Id: trace-abc.123'
check "X-Request-Id echoed" trace-abc.123 "$(header X-Request-Id)"
api "$P" GET /nope "" "" -H 'X-Request-Id: trace-xyz'
check "request_id in problem body" trace-xyz "$(jqr .request_id)"
api "$P" GET /healthz "" "" -H 'X-Request-Id: bad id with spaces'
check_match "unsafe X-Request-Id replaced" '^[0-9a-f]{32}$' "$(header X-Request-Id)"

api "$P" GET /metrics
check "metrics 200" 200 "$STATUS"
check_match "metrics count requests by route and status" \
	'partd_http_requests_total\{route="/healthz",method="GET",status="200"\} [0-9]+' "$BODY"
check_match "metrics latency histogram" 'partd_http_request_duration_seconds_bucket\{route="/healthz",le="0.005"\}' "$BODY"
check_match "metrics pool gauges" 'partd_pool_connections\{state="in_use"\} [0-9]+' "$BODY"
check_match "metrics pool waiting" 'partd_pool_waiting 0' "$BODY"
check_match "metrics unmatched routes share one label" 'route="unmatched",method="GET",status="404"' "$BODY"

n=$(grep -c '"msg":"request"' "$WORK/partd-http.log")
[ "$n" -ge 20 ] && pass "one access-log line per request ($n)" || fail "access log lines" "$n"
bad=$(while IFS= read -r line; do jq -e . <<<"$line" >/dev/null 2>&1 || { echo "$line"; break; }; done <"$WORK/partd-http.log")
check "every log line is JSON" "" "$bad"
stop_partd "$PID_http" || fail "partd stops cleanly on SIGTERM" "exit $?"
