#!/usr/bin/env bash
# bench/trigger.sh: what partd's sync trigger costs each write the
# application makes while a migration runs, counted in instructions by
# valgrind's callgrind, which counts the same for the same work whatever
# else the host runs. (bench/migration.sh's writer p99 is the goal's own
# figure, but on a shared 2-core host its windows move by more than the
# trigger's whole cost; this figure says what partd itself changed.)
# Appends the figures, with the machine and the date, to bench/RESULTS.md.
# Run on demand, never in CI. Takes about 5 minutes.
#
#   bench/trigger.sh
#   ACCOUNTS=200 WRITES=100 RESULTS=/tmp/smoke.md bench/trigger.sh   (a smoke run)
#
# Data: bench/migration.sh's src_live at ACCOUNTS (2,000) accounts x 360
# days (720k rows over 12 months): the seed's platform_analytics, id text
# PRIMARY KEY, UNIQUE (social_account_id, date), INDEX (workspace_id,
# date). partd migrates it (PUT {"partition_column":"date"}, POST
# .../migration with no rate limit), then rolls the migration back: the
# table is plain again and partd's trigger applies every write to the
# partitioned src_new, full and with every index: the state of a
# migration's index and validate phases, the longest part of it. (The
# trigger a rollback makes is the dual-write phase's, with the same
# target: one function text, service/synctrig.c.)
#
# Then, the cluster stopped, one backend in single-user mode under
# callgrind runs bench/migration.sh's writer statements (INSERT of a fresh
# id, UPDATE and DELETE of a random existing id over all 12 months, in
# turn, each its own transaction), with the trigger on src as:
#   none       no trigger: the write alone;
#   partd      partd's function, as the rollback made it;
#   reference  the straightforward dual write: DELETE of OLD's key from
#              the parent src_new and an upsert of NEW into it (the seed's
#              Phase 2 pattern, and partd's trigger before 5612a4b).
# A figure is (instructions for WARM + WRITES rounds - for WARM rounds) /
# (3 x WRITES): start-up and each statement's first plans cancel out.
# Reported: instructions per write for each; each trigger's cost over
# none, as a share of the write alone; reference's cost / partd's.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init trigger.sh trig
ACCOUNTS=${ACCOUNTS:-2000}
WRITES=${WRITES:-600}
WARM=${WARM:-200}
RESULTS=${RESULTS:-bench/RESULTS.md}
scripts/deps.sh valgrind
make -s bin/partd


cp bin/partd "$WORK/partd"
URL=$("$PGC" start "$WORK/pg" --fast 2>"$WORK/pg.err") || { cat "$WORK/pg.err" >&2; exit 1; }
q() { PGOPTIONS="-c client_min_messages=warning" psql "$URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }
DATE0=$(date -u -d "$(date -u +%Y-%m-01) -11 months" +%F)

note "loading $ACCOUNTS accounts x 360 days"
q -c "CREATE TABLE public.src (id text PRIMARY KEY, workspace_id text NOT NULL, social_account_id text NOT NULL,
        date date NOT NULL, followers integer DEFAULT 0, followers_change integer DEFAULT 0,
        following integer DEFAULT 0, impressions integer DEFAULT 0, reach integer DEFAULT 0,
        engagement_rate double precision DEFAULT 0, profile_views integer DEFAULT 0,
        website_clicks integer DEFAULT 0, email_clicks integer DEFAULT 0, platform_metrics jsonb,
        synced_at timestamp DEFAULT now(), UNIQUE (social_account_id, date));
      CREATE INDEX ON public.src (workspace_id, date);
      CREATE SEQUENCE public.live_ids;
      INSERT INTO public.src
      SELECT 'c' || md5(a || ':' || d), 'ws_' || (a % 50), 'sa_' || a, date '$DATE0' + d, a, d % 50 - 25, a % 900,
             (a * 37 + d * 11) % 50000, (a * 17) % 40000, ((a * 13 + d) % 1000) / 10000.0, a % 300, a % 70, a % 9,
             '{\"likes\": 1}', date '$DATE0' + d
        FROM generate_series(0, 359) d, generate_series(1, $ACCOUNTS) a ORDER BY d"
q -c "VACUUM ANALYZE public.src"
ROWS=$(q -c "SELECT count(*) FROM public.src")

T=bench-$RANDOM$RANDOM
printf 'admin bench %s\n' "$(sha "$T")" >"$WORK/tokens"
PORT=$("$PGC" free-port)
DATABASE_URL=$URL PARTD_TOKENS_FILE=$WORK/tokens PARTD_LISTEN=127.0.0.1:$PORT PARTD_WORKERS=2 \
	PARTD_SCHEDULER_INTERVAL_S=604800 "$WORK/partd" >"$WORK/partd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -s -X "$1" -H "Authorization: Bearer $T" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://127.0.0.1:$PORT$2"; }
# job POST_PATH BODY: runs a job to its end; dies unless it succeeded
job() {
	local body id st=
	body=$(api POST "$1" "$2")
	id=$(jq -r .id <<<"$body")
	[ -n "$id" ] && [ "$id" != null ] || die "POST $1: $body"
	for _ in $(seq 1 600); do
		sleep 0.5
		st=$(api GET "/v1/jobs/$id" | jq -r .state)
		case $st in succeeded) return 0 ;; failed | cancelled) break ;; esac
	done
	die "the job of POST $1 ended $st: $(api GET "/v1/jobs/$id" | head -c 600)"
}
note "migrating src with partd, then rolling back"
api PUT /v1/tables/public.src '{"partition_column":"date"}' | jq -e '.table == "public.src"' >/dev/null || die "PUT failed"
job /v1/tables/public.src/migration '{}'
job /v1/tables/public.src/migration/rollback '{}'
bench_stop "$pid"
pid=
[ "$(q -c "SELECT relkind FROM pg_class WHERE oid = 'public.src'::regclass")" = r ] || die "src is not plain after the rollback"
PARTS=$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.src_new'::regclass")
NEW_INDEXES=$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = 'public.src_new'::regclass")
ROUTES=$(q -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, pg_proc p
                WHERE i.inhparent = 'public.src_new'::regclass AND p.oid = 'public.src_partd_sync'::regproc
                  AND position(quote_ident(c.relname) IN p.prosrc) > 0")
COLS=$(q -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
              WHERE attrelid = 'public.src'::regclass AND attnum > 0 AND NOT attisdropped")
each() { q -c "SELECT string_agg($1, ', ' ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = 'public.src'::regclass AND attnum > 0 AND NOT attisdropped"; }
q -c "DROP TRIGGER src_partd_sync ON public.src;
      CREATE FUNCTION public.bench_reference_sync() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS \$f\$
      BEGIN
        IF TG_OP <> 'INSERT' THEN DELETE FROM public.src_new WHERE id = OLD.id AND date = OLD.date; END IF;
        IF TG_OP <> 'DELETE' THEN
          INSERT INTO public.src_new ($COLS) VALUES ($(each "'NEW.' || quote_ident(attname)"))
              ON CONFLICT (id, date) DO UPDATE SET $(each "quote_ident(attname) || ' = EXCLUDED.' || quote_ident(attname)");
        END IF;
        RETURN NULL;
      END \$f\$"
"$PGC" stop "$WORK/pg" >/dev/null 2>&1

# workload VARIANT ROUNDS SEED: the statements, one a line (single-user mode)
workload() {
	awk -v v="$1" -v n="$2" -v seed="$3" -v acc="$ACCOUNTS" -v d0="$DATE0" 'BEGIN {
	  srand(seed)
	  print "DROP TRIGGER IF EXISTS bench_sync ON public.src"
	  if (v != "none")
	    print "CREATE TRIGGER bench_sync AFTER INSERT OR UPDATE OR DELETE ON public.src FOR EACH ROW EXECUTE FUNCTION public." (v == "partd" ? "src_partd_sync" : "bench_reference_sync") "()"
	  for (i = 0; i < n; i++) {
	    a = int(rand() * acc) + 1; d = int(rand() * 360)
	    printf "INSERT INTO public.src (id, workspace_id, social_account_id, date, followers, impressions, platform_metrics) SELECT \x27n\x27 || s, \x27ws_%d\x27, \x27sn_\x27 || s, date \x27%s\x27 + %d, %d, %d, \x27{\"likes\": 1}\x27 FROM nextval(\x27public.live_ids\x27) s\n", a % 50, d0, d, a, d
	    a = int(rand() * acc) + 1; d = int(rand() * 360)
	    printf "UPDATE public.src SET followers = followers + 1, impressions = impressions + 10, synced_at = now() WHERE id = \x27c\x27 || md5(\x27%d:%d\x27)\n", a, d
	    a = int(rand() * acc) + 1; d = int(rand() * 360)
	    printf "DELETE FROM public.src WHERE id = \x27c\x27 || md5(\x27%d:%d\x27)\n", a, d
	  }
	  print "DROP TRIGGER IF EXISTS bench_sync ON public.src"
	}' >"$WORK/w.sql"
	chmod 644 "$WORK/w.sql"
}
as_owner() {
	if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
# instructions VARIANT ROUNDS: callgrind's total for one single-user backend
instructions() {
	workload "$1" "$2" "$RANDOM$RANDOM"
	as_owner valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$PGBIN/postgres" --single -D "$WORK/pg/data" partd <"$WORK/w.sql" >"$WORK/single.out" 2>"$WORK/single.err"
	if grep -q 'ERROR:' "$WORK/single.err" "$WORK/single.out"; then
		die "single-user backend: $(grep -h -m1 'ERROR:' "$WORK/single.err" "$WORK/single.out")"
	fi
	awk '/Collected/ { print $4 }' "$WORK/single.err"
}
declare -A PER
for v in none partd reference; do
	note "counting $v: $WARM, then $((WARM + WRITES)) rounds of INSERT, UPDATE, DELETE"
	a=$(instructions "$v" "$WARM")
	b=$(instructions "$v" $((WARM + WRITES)))
	[ -n "$a" ] && [ -n "$b" ] || die "callgrind gave no count for $v"
	PER[$v]=$(((b - a) / (3 * WRITES)))
	note "$v: ${PER[$v]} instructions a write"
done
over() { echo $((PER[$1] - PER[none])); }
pct() { awk -v a="$(over "$1")" -v b="${PER[none]}" 'BEGIN { printf "%.0f", 100 * a / b }'; }
k() { awk -v x="$1" 'BEGIN { printf "%.1fk", x / 1000 }'; }
RATIO=$(awk -v a="$(over reference)" -v b="$(over partd)" 'BEGIN { printf "%.2f", a / b }')
{
	echo
	echo "## Trigger: $(date -u +%F) on $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
	echo
	echo "\`bench/trigger.sh\`; partd $REV, PostgreSQL 15 (--fast), callgrind $(valgrind --version | sed 's/valgrind-//')."
	echo "src: $ROWS rows ($ACCOUNTS accounts x 360 days from $DATE0); src_new: $PARTS partitions (default included), $NEW_INDEXES indexes,"
	echo "every row; partd's function names $ROUTES of the partitions. $WRITES rounds of INSERT, UPDATE, DELETE counted after $WARM."
	echo
	echo "| trigger on src | instructions a write | over no trigger | share of the write alone |"
	echo "|---|---|---|---|"
	echo "| none | $(k "${PER[none]}") | | |"
	echo "| partd (routed to the row's partition; an UPDATE that keeps the key in place) | $(k "${PER[partd]}") | +$(k "$(over partd)") | +$(pct partd) % |"
	echo "| reference (DELETE, then upsert, through the parent) | $(k "${PER[reference]}") | +$(k "$(over reference)") | +$(pct reference) % |"
	echo
	echo "The reference trigger costs the writer ${RATIO}x what partd's does."
} >>"$RESULTS"
tail -11 "$RESULTS"
