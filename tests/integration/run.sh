#!/usr/bin/env bash
# Runs partd's integration tests against a real, throwaway PostgreSQL 15
# cluster (started on a free port in a temp dir, removed afterwards).
#   tests/integration/run.sh BIN [TEST...]     e.g. run.sh bin/partd t_jobs
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PARTD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
WORK=$(mktemp -d /tmp/partd-itest.XXXXXX)
chmod 755 "$WORK"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=66}

. "$ROOT/tests/integration/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

DATABASE_URL=$("$PGC" start "$WORK/pg" --fast 2>"$WORK/pg_cluster.err") || {
	cat "$WORK/pg_cluster.err" >&2
	exit 1
}
export DATABASE_URL
write_tokens

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(cd "$ROOT/tests/integration" && ls t_*.sh | sed 's/\.sh$//'))
for t in "${tests[@]}"; do
	echo "== $t"
	. "$ROOT/tests/integration/$t.sh"
done

# Every partd still running must stop cleanly (sanitizers report at exit).
for p in "${PIDS[@]}"; do
	if kill -0 "$p" 2>/dev/null; then
		stop_partd "$p" || fail "partd $p exited cleanly" "exit status $?"
	fi
done
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK"/partd-*.log 2>/dev/null; then
	fail "no sanitizer reports in partd logs"
	grep -h -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK"/partd-*.log | head -80
fi

echo
echo "integration: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
