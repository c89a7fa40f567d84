# shellcheck shell=bash
# shellcheck disable=SC2034 # it sets variables for the scripts that source it
# bench/lib.sh: what every bench script starts with, sourced (never run):
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init retention.sh ret
#
# bench_init NAME TAG: moves to the repository's root (ROOT) and sets
#   PGBIN   PostgreSQL 15's programs (override with PGBIN);
#   PGC     tests/scripts/pg_cluster.sh, which makes the throwaway cluster;
#   WORK    a fresh directory BENCH_DIR/partd-bench-TAG.XXXXXX (BENCH_DIR:
#           /tmp by default; another volume puts the cluster there), readable
#           by the postgres user the cluster runs as;
#   REV     the commit measured, "+ uncommitted changes" when service/, api/
#           or sql/ differ from it;
#   pid     empty: the script keeps partd's pid here.
# On exit, for any reason, the processes whose pids pid and the variables
# given to bench_track hold then are stopped, the cluster in WORK/pg is
# destroyed and WORK removed; with KEEP_WORK=1 the cluster is only stopped
# and WORK kept (its path printed), to look into a run afterwards.
#
# Helpers for the scripts: die, note, now, ms_since, verdict, sha,
# bench_stop, bench_track.

# bench_stop PID: stops PID (if any) and waits for it; never fails.
bench_stop() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_track VAR: the process whose pid VAR holds at exit (if any) is
# stopped too, like partd's in pid. VAR is read at exit, so the script may
# start and reap several processes in it meanwhile.
BENCH_PID_VARS=(pid)
bench_track() { BENCH_PID_VARS+=("$1"); }

bench_cleanup() {
	local v
	for v in "${BENCH_PID_VARS[@]}"; do bench_stop "${!v:-}"; done
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		"$PGC" stop "$WORK/pg" >/dev/null 2>&1 || true
		echo "$BENCH_NAME: KEEP_WORK: kept $WORK (remove with $PGC destroy $WORK/pg; rm -rf $WORK)" >&2
		return
	fi
	"$PGC" destroy "$WORK/pg" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}

bench_init() {
	BENCH_NAME=$1
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	cd "$ROOT" || exit 1
	PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
	PGC=tests/scripts/pg_cluster.sh
	REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- service api sql 2>/dev/null || echo ' + uncommitted changes')"
	WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/partd-bench-$2.XXXXXX")
	chmod 755 "$WORK"
	pid=
	trap bench_cleanup EXIT
}

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}
note() { echo "$BENCH_NAME: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
# ms_since START [DECIMALS]: milliseconds from START (a now()) until now
ms_since() { awk -v a="$1" -v b="$(now)" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, (b - a) * 1000 }'; }
# verdict VALUE OP GOAL: pass or FAIL (OP: <= or >=; a VALUE not a number fails)
verdict() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? v <= g : v >= g; print (v == v + 0 && ok) ? "pass" : "FAIL" }'; }
# sha TEXT: its sha256 in hex, as a tokens file stores a token
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# ---- partd, for the scripts that drive it through its API -------------------

# bench_tokens: WORK/tokens with one token of each scope, kept in ADMIN,
# OPERATE and READ.
bench_tokens() {
	ADMIN=adm-$RANDOM$RANDOM$RANDOM
	OPERATE=ops-$RANDOM$RANDOM$RANDOM
	READ=rd-$RANDOM$RANDOM$RANDOM
	cat >"$WORK/tokens" <<TOKENS
# scope name sha256
admin   bench-admin   $(sha "$ADMIN")
operate bench-operate $(sha "$OPERATE")
read    bench-read    $(sha "$READ")
TOKENS
}

# start_partd LOG [VAR=VALUE...]: WORK/partd (the script's copy of
# bin/partd, taken at its start) against DATABASE_URL with WORK/tokens, on a
# fresh port (PORT), its pid in pid, stderr in LOG; each VAR=VALUE overrides
# the defaults (PARTD_POOL_SIZE=8, PARTD_LOG_LEVEL=info). Returns once
# /readyz is 200 and the start-up scheduler pass has been logged.
PORT=
start_partd() {
	local log=$1
	shift
	PORT=$("$PGC" free-port)
	env DATABASE_URL="$DATABASE_URL" PARTD_TOKENS_FILE="$WORK/tokens" \
		PARTD_LISTEN="127.0.0.1:$PORT" PARTD_POOL_SIZE=8 PARTD_LOG_LEVEL=info \
		"$@" "$WORK/partd" >/dev/null 2>"$log" &
	pid=$!
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "partd exited at start-up"; }
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ] &&
			grep -q '"msg":"scheduler pass"' "$log"; then
			return 0
		fi
		sleep 0.1
	done
	tail -20 "$log" >&2
	die "partd not ready (or no scheduler pass) after 30 s"
}
stop_partd() {
	bench_stop "$pid"
	pid=
}

# call METHOD PATH TOKEN [BODY]: sets CODE, SECS (the request's time) and
# BODY; never fails.
CODE='' SECS='' BODY=''
call() {
	local out
	out=$(curl -s -X "$1" -H "Authorization: Bearer $3" ${4:+-H 'Content-Type: application/json' --data-binary "$4"} \
		-w '\n%{http_code} %{time_total}' "http://127.0.0.1:$PORT$2") || true
	BODY=${out%$'\n'*}
	out=${out##*$'\n'}
	CODE=${out%% *}
	SECS=${out#* }
}
# api METHOD PATH TOKEN [BODY]: prints the body; fails unless 2xx.
api() {
	call "$@"
	[[ "$CODE" == 2?? ]] || die "$1 $2: HTTP $CODE: ${BODY:0:400}"
	printf '%s\n' "$BODY"
}
