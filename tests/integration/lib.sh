# Shared helpers for partd's integration tests: a throwaway PostgreSQL
# cluster, partd processes on free ports, HTTP calls and assertions.
# Sourced by run.sh; every test file uses only what is here.

PGC="$ROOT/tests/scripts/pg_cluster.sh"
PASSED=0
FAILED=0
PIDS=()

ADMIN_TOKEN="adm-$RANDOM$RANDOM-token"
OPERATE_TOKEN="ops-$RANDOM$RANDOM-token"
READ_TOKEN="rd-$RANDOM$RANDOM-token"

sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

write_tokens() {
	cat >"$WORK/tokens" <<TOKENS
# scope name sha256
admin   alice   $(sha "$ADMIN_TOKEN")
operate olivia  $(sha "$OPERATE_TOKEN")
read    rita    $(sha "$READ_TOKEN")
TOKENS
}

pass() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$1"; [ -n "${2:-}" ] && printf '       %s\n' "$2"; return 0; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
# check_match NAME REGEX ACTUAL
check_match() {
	if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1" "'${3:0:300}' does not match /$2/"; fi
}

free_port() { "$PGC" free-port; }

# start_partd NAME [VAR=VALUE...]: starts a partd with its own port and log;
# sets PORT_<NAME>, PID_<NAME>, and waits until /readyz answers 200 (the
# control schema is in place and the workers run).
start_partd() {
	local name=$1 port i
	shift
	port=$(free_port)
	# Scheduled retention only where a test asks for it (PARTD_RETENTION_HOUR
	# in its arguments): at the default hour (03 UTC) every start-up pass would
	# otherwise run retention on the tests' tables beside their own jobs.
	env DATABASE_URL="$DATABASE_URL" PARTD_TOKENS_FILE="$WORK/tokens" \
		PARTD_LISTEN="127.0.0.1:$port" PARTD_LEASE_S=3 PARTD_POLL_MS=200 \
		PARTD_RETENTION_HOUR=$(((10#$(date -u +%H) + 12) % 24)) "$@" \
		"$PARTD" >>"$WORK/partd-$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$pid"
	for i in $(seq 1 100); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "partd $name did not start; its log:" >&2
	tail -20 "$WORK/partd-$name.log" >&2
	return 1
}

# wait_ready PORT [SECONDS]: until /readyz answers 200.
wait_ready() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# stop_partd PID: SIGTERM and wait; a sanitizer report makes it exit non-zero.
stop_partd() {
	local rc=0
	kill -TERM "$1" 2>/dev/null || return 0
	wait "$1" || rc=$?
	return $rc
}

# api PORT METHOD PATH [TOKEN] [BODY] [extra curl args...]
# Sets STATUS, BODY (response), HDRS (response headers file).
api() {
	local port=$1 method=$2 path=$3 token=${4:-} body=${5:-}
	shift 5 2>/dev/null || shift $#
	local args=(-s -X "$method" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}')
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS=$(curl "${args[@]}" "$@" "http://127.0.0.1:$port$path")
	BODY=$(cat "$WORK/body")
	HDRS="$WORK/headers"
}

header() { grep -i "^$1:" "$HDRS" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
jqr() { printf '%s' "$BODY" | jq -r "$1"; }

# wait_phase PORT ID PHASE MIN_DONE SECONDS: polls every 50 ms until the
# job's phase matches the glob PHASE (`copy`, `*: drop`) with progress.done
# >= MIN_DONE; the last GET stays in BODY.
wait_phase() {
	local i
	for i in $(seq 1 $(($5 * 20))); do
		api "$1" GET "/v1/jobs/$2" "$READ_TOKEN"
		# shellcheck disable=SC2053 # $3 is a glob on purpose
		[[ "$(jqr .phase)" == $3 ]] && [ "$(jqr '.progress.done // 0')" -ge "$4" ] && return 0
		sleep 0.05
	done
	return 1
}

# cancel_timed PORT ID [SECONDS]: POST the job's cancel and wait until it is
# cancelled; CANCEL_MS is how long that took from the request (a large
# number, and a failed check, when it did not end so).
cancel_timed() {
	local t0
	t0=$(date +%s%N)
	api "$1" POST "/v1/jobs/$2/cancel" "$OPERATE_TOKEN"
	if wait_job "$1" "$2" cancelled "${3:-30}"; then
		CANCEL_MS=$((($(date +%s%N) - t0) / 1000000))
	else
		CANCEL_MS=999999
		fail "job $2 is cancelled" "$BODY"
	fi
}

# wait_job PORT ID STATE [SECONDS]: until the job reaches STATE.
wait_job() {
	local i
	for i in $(seq 1 $((${4:-20} * 10))); do
		api "$1" GET "/v1/jobs/$2" "$READ_TOKEN"
		[ "$(jqr .state)" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for d in "$WORK/pg" "$WORK"/pg-*; do
		[ -d "$d" ] || continue
		# KEEP_WORK keeps each server's log too (the cluster itself goes).
		[ -z "${KEEP_WORK:-}" ] || cp "$d/log/postgresql.log" "$WORK/${d##*/}.postgresql.log" 2>/dev/null
		"$PGC" destroy "$d" >/dev/null 2>&1
	done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
