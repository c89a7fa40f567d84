# The auth matrix: every route, with no token, an unknown token, a token one
# scope too low, and the right one.
start_partd auth PARTD_SCHEDULER_INTERVAL_S=604800 || return
P=$PORT_auth
wait_ready "$P" || fail "partd becomes ready"
api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"step_ms":0}'
JOB=$(jqr .id)
psql_q "CREATE TABLE public.authz (id int, d date NOT NULL) PARTITION BY RANGE (d)" >/dev/null
POLICY='{"partition_column":"d","premake":1}'
api "$P" PUT /v1/tables/public.authz "$ADMIN_TOKEN" "$POLICY"

# method path required-scope [body]
ROUTES=(
	"GET /healthz none"
	"GET /readyz none"
	"GET /metrics none"
	"GET /openapi.yaml none"
	"GET /v1/jobs read"
	"GET /v1/jobs/$JOB read"
	"GET /v1/jobs/$JOB/events read"
	"POST /v1/jobs/$JOB/cancel operate"
	"POST /v1/diagnostics/sleep admin"
	"GET /v1/tables read"
	"GET /v1/tables/public.authz read"
	"GET /v1/tables/public.authz/partitions read"
	"GET /v1/tables/public.authz/pruning?from=2026-01-01&to=2026-02-01 read"
	"POST /v1/tables/public.authz/partitions operate"
	"POST /v1/tables/public.authz/migration operate"
	"GET /v1/tables/public.authz/migration read"
	"PATCH /v1/tables/public.authz/migration operate"
	"POST /v1/tables/public.authz/migration/rollback admin"
	"POST /v1/tables/public.authz/migration/finalize admin"
	"POST /v1/tables/public.authz/retention operate"
	"GET /v1/tables/public.authz/archives read"
	"POST /v1/tables/public.authz/archives/1/restore admin"
	"PUT /v1/tables/public.authz admin"
	"DELETE /v1/tables/public.authz admin"
)
# Every operation of the contract is in the matrix.
n_contract=$(grep -cE '^    (get|put|post|delete|patch):' "$ROOT/openapi/openapi.yaml")
check "the matrix covers every route of the contract" "$n_contract" "${#ROUTES[@]}"

token_of() { case $1 in read) echo "$READ_TOKEN" ;; operate) echo "$OPERATE_TOKEN" ;; admin) echo "$ADMIN_TOKEN" ;; esac; }
below() { case $1 in operate) echo read ;; admin) echo operate ;; esac; }

for r in "${ROUTES[@]}"; do
	read -r m path scope <<<"$r"
	body=""
	[ "$m" = POST ] && [ "$path" = /v1/diagnostics/sleep ] && body='{"steps":1,"step_ms":0}'
	[ "$m" = POST ] && [ "$path" = /v1/tables/public.authz/partitions ] && body='{"ahead":1}'
	[ "$m" = PUT ] && body=$POLICY
	[ "$path" = /v1/tables/public.authz/migration ] && [ "$m" = POST ] && body='{"dry_run":true}'
	[ "$m" = PATCH ] && body='{"batch_rows":10}'
	[[ "$path" == */migration/* ]] && body='{}'
	[ "$path" = /v1/tables/public.authz/retention ] && body='{"dry_run":true}'
	[[ "$path" == */restore ]] && body='{}'
	if [ "$scope" = none ]; then
		api "$P" "$m" "$path"
		check "$m $path open without token" 200 "$STATUS"
		continue
	fi
	api "$P" "$m" "$path" "" "$body"
	check "$m $path without token 401" 401 "$STATUS"
	check_match "$m $path 401 has WWW-Authenticate" '^Bearer' "$(header WWW-Authenticate)"
	check "$m $path 401 is problem+json" application/problem+json "$(header Content-Type)"
	api "$P" "$m" "$path" "not-a-real-token" "$body"
	check "$m $path unknown token 401" 401 "$STATUS"
	api "$P" "$m" "$path" "" "$body" -H "Authorization: Basic $(printf 'a:b' | base64)"
	check "$m $path non-bearer scheme 401" 401 "$STATUS"
	low=$(below "$scope")
	if [ -n "$low" ]; then
		api "$P" "$m" "$path" "$(token_of "$low")" "$body"
		check "$m $path with $low token 403" 403 "$STATUS"
		check_match "$m $path 403 names the scope needed" "needs the '$scope' scope" "$(jqr .detail)"
	fi
	api "$P" "$m" "$path" "$(token_of "$scope")" "$body"
	check_match "$m $path with $scope token allowed" '^(200|201|202|204|404|409)$' "$STATUS"
	if [ "$scope" != admin ]; then
		api "$P" "$m" "$path" "$ADMIN_TOKEN" "$body"
		check_match "$m $path with a higher scope allowed" '^(200|201|202|204|404|409)$' "$STATUS"
	fi
done

api "$P" POST /v1/diagnostics/sleep "$ADMIN_TOKEN" '{"steps":1,"step_ms":0}'
check "created_by is the token's name" alice "$(jqr .created_by)"

leaked=$(grep -c -e "$ADMIN_TOKEN" -e "$OPERATE_TOKEN" -e "$READ_TOKEN" "$WORK/partd-auth.log")
check "tokens never appear in the log" 0 "$leaked"
grep -q '"principal":"alice"' "$WORK/partd-auth.log" && pass "the access log names the principal" || fail "the access log names the principal"
stop_partd "$PID_auth" || fail "partd stops cleanly" "exit $?"
