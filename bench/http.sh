#!/usr/bin/env bash
# bench/http.sh: wrk against GET /healthz and GET /v1/jobs (with a token)
# on a throwaway PostgreSQL; appends the figures, with the machine and the
# date, to bench/RESULTS.md. Run on demand, never in CI.
#   bench/http.sh [DURATION_S] [CONNECTIONS]
#   RESULTS=/tmp/smoke.md bench/http.sh 2   (a smoke run)
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init http.sh http
DURATION=${1:-10}
CONNS=${2:-32}
RESULTS=${RESULTS:-bench/RESULTS.md}
scripts/deps.sh wrk
make -s bin/partd

DATABASE_URL=$("$PGC" start "$WORK/pg" --fast 2>/dev/null)
TOKEN=bench-$RANDOM$RANDOM
echo "read bench $(sha "$TOKEN")" >"$WORK/tokens"
PORT=$("$PGC" free-port)
DATABASE_URL=$DATABASE_URL PARTD_TOKENS_FILE=$WORK/tokens PARTD_LISTEN=127.0.0.1:$PORT \
	PARTD_LOG_LEVEL=warn PARTD_WORKERS=1 PARTD_POOL_SIZE=16 bin/partd 2>"$WORK/partd.log" &
# shellcheck disable=SC2034 # bench_cleanup stops it
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

# A realistic job table: 5,000 finished jobs, so /v1/jobs pages real rows.
psql "$DATABASE_URL" -XAq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO partd.jobs (kind, table_name, state, params, created_by, attempt, progress_done,
                        progress_total, progress_unit, started_at, finished_at, result)
SELECT 'diagnostic.sleep', NULL, 'succeeded', '{"steps":10,"step_ms":100}', 'bench', 1, 10, 10,
       'steps', now() - interval '1 hour', now(), '{"steps":10}'
  FROM generate_series(1, 5000);
ANALYZE partd.jobs;
SQL

run_wrk() { # NAME PATH [HEADER]
	local out
	if [ -n "${3:-}" ]; then
		out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "$3" "http://127.0.0.1:$PORT$2")
	else
		out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$2")
	fi
	local rps p50 p99 errs
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
	printf '| `GET %s` | %s | %s | %s | %s |\n' "$2" "$rps" "$p50" "$p99" "${errs:-none}"
}

rows=$(
	run_wrk healthz /healthz
	run_wrk jobs "/v1/jobs?limit=50" "Authorization: Bearer $TOKEN"
)
{
	echo
	echo "## HTTP: $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	echo
	echo "wrk, 2 threads, $CONNS connections, ${DURATION} s each; partd and PostgreSQL 15 on the same machine; pool 16; /v1/jobs pages 50 of 5,000 jobs."
	echo
	echo "| request | requests/s | p50 | p99 | errors |"
	echo "|---|---|---|---|---|"
	echo "$rows"
} | tee -a "$RESULTS"
