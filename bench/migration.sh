#!/usr/bin/env bash
# bench/migration.sh: partd's online migration (service/migration.c) against
# references, each figure a ratio measured within ONE run on one throwaway
# PostgreSQL 15; appends the figures, goals and pass/fail, with the machine
# and the date, to bench/RESULTS.md. Run on demand, never in CI. Takes about
# 15 minutes on 2 cores, most of it the migration under a concurrent writer.
#
#   bench/migration.sh
#   ACCOUNTS=100 RESULTS=/tmp/smoke.md bench/migration.sh   (a smoke run)
#
# Data: the seed's platform_analytics (id text PRIMARY KEY, UNIQUE
# (social_account_id, date), INDEX (workspace_id, date)), ACCOUNTS (5,000)
# accounts x 360 days from the first day of the month 11 months ago: 1.8M
# rows over 12 months, ids 'c' || md5(account || ':' || day), written in date
# order as a daily sync would. Four identical copies, each VACUUM ANALYZEd:
# src_ref, src_partd, src_partman, src_live.
#
# 1. Copy rate. partd (PARTD_WORKERS=2, PARTD_SCHEDULER_INTERVAL_S=604800):
#      PUT  /v1/tables/public.src_partd {"partition_column":"date"}
#      POST /v1/tables/public.src_partd/migration {"batch_rows":20000}  (no rate limit,
#      parallel 2: the default)
#    the copy timed from the job's events (GET /v1/jobs/{id}/events): "every
#    INSERT ... now also applies" (copy starts) to "index(es) ... built and
#    attached" (the copy phase and the index phase after it: partd builds the
#    new table's unique constraint and index after the rows are in, so both
#    count, as the reference maintains them while it inserts); cross-checked
#    by GET /v1/jobs/{id} every 500 ms (phase copy -> validate).
#    Reference: the DDL partd's dry run plans for src_partd (same partitions,
#    default, PRIMARY KEY (id, date), same unique constraint and index), run
#    for src_ref_new, then one timed `INSERT INTO src_ref_new SELECT * FROM
#    src_ref` in psql. Goal: partd rows/s / reference rows/s >= 1.0.
# 2. The same copy against pg_partman 4.7's offline pattern: src_partman
#    renamed src_partman_old; src_partman made PARTITION BY RANGE (date) with
#    the same columns, PRIMARY KEY (id, date), the unique constraint and the
#    index; partman.create_parent('public.src_partman', 'date', 'native',
#    'monthly', p_start_partition := <first month>); then, timed alone,
#      CALL partman.partition_data_proc('public.src_partman', p_batch := 1000,
#           p_wait := 0, p_source_table := 'public.src_partman_old');
#    (p_wait defaults to 1 s of sleep between batches; 0 is the fastest
#    pg_partman can do.) Goal: partd rows/s / pg_partman rows/s >= 1.3.
# 3. A writer during the migration of src_live: pgbench -c 4 -j 2 -l at a
#    fixed rate (-R WRITER_TPS, default 1000 transactions/s: some 500 times the
#    seed's 150k rows a day; a closed-loop pgbench would take both cores by
#    itself and leave no room to measure anything but CPU contention), three
#    scripts of weight 1 (single-row INSERT of a fresh id from a sequence,
#    UPDATE and DELETE of a random existing id over all 12 months). Baseline:
#    the same on src_live before it is migrated, 2.5 x the quiet migration
#    + 40 s (BASE_S overrides), without its first 2 s (pgbench's warm-up:
#    its rate schedule starts before its connections are made). Then
#    pgbench again, one run, and 2 s later POST .../migration LIVE_KNOBS (default {"batch_rows":100,
#    "max_rows_per_s":20000,"parallel":1}: ranges of some 100 rows, about a
#    millisecond of a core each: a range is one statement, which keeps its
#    core until it ends, and the kernel often wakes pgbench's thread or a
#    writer's backend on that core to wait behind it (perf sched and the
#    batch sizes measured: bench/RESULTS.md, "where the copy phase's tail
#    came from"); one connection; and a rate that paces the copy, the
#    index builds and the validation to about half of what one connection
#    did under the writer on the machine it was chosen on (some 42,000
#    rows/s), as an operator runs it on a busy primary: at a rate one
#    connection cannot reach, every phase keeps a core busy and the
#    writer's tail is the run queue of the other); pgbench runs until 3 s
#    past the cut-over, then its backends are terminated (it then ends by
#    itself, its logs complete; clients aborted before count). If the POST answers 503, that is recorded, src_live is
#    VACUUMed (an operator's fix) and the POST retried. Figures, from
#    pgbench's per-transaction log: p99 of the transactions that ended
#    between the job's started_at and finished_at / baseline p99 (goal
#    <= 2); failed transactions and aborted clients (goal 0); the
#    cut-over's longest write stall: the largest latency of a transaction
#    overlapping +-2 s of the "cut over" event (reported, no goal). Beside
#    each window's p99, the share of CPU time the host stole from this
#    virtual machine (/proc/stat's steal) and the share idle: on a shared
#    host the tail of a 1 ms write moves with the stolen time, and these
#    say how comparable the two windows were. Both windows carry the same
#    observer: GET /v1/jobs/{id} every WATCH_S (2) s, parsed without forks
#    (in the baseline, of the finished quiet job); a 100 ms poll that forks
#    curl, jq and awk would by itself take the writer's p99 from 0.8 to
#    3.5 ms on 2 cores and be charged to the migration.
# Correctness: for src_partd and src_live, row counts and
# EXCEPT ALL both ways against <t>_old = 0; the reference and pg_partman
# tables hold every row.
#
# partd runs from a copy of bin/partd taken at the start (the tree may be
# rebuilt meanwhile), with a tokens file of lines `<scope> <name> <sha256>`.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init migration.sh mig
ACCOUNTS=${ACCOUNTS:-5000}
WRITER_TPS=${WRITER_TPS:-1000}
LIVE_KNOBS=${LIVE_KNOBS:-'{"batch_rows":100,"max_rows_per_s":20000,"parallel":1}'}
RESULTS=${RESULTS:-bench/RESULTS.md}
scripts/deps.sh postgresql-15-partman
make -s bin/partd

pgb_pid=
bench_track pgb_pid
trap 'echo "migration.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# RFC 3339 (partd's timestamps, microseconds) to epoch seconds
epoch() { date -u -d "$1" +%s.%6N; }
# rate ROWS MS: rows per second
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms <= 0) print "nan"; else printf "%.0f", n * 1000 / ms }'; }
# div A B [DECIMALS]
div() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "nan"; else printf "%.*f", d, a / b }'; }
# psql's "Time: 1234.567 ms" in a file, the last one, in ms
psql_ms() { grep -o 'Time: [0-9.]*' "$1" | tail -1 | awk '{ printf "%.0f", $2 }'; }

cp bin/partd "$WORK/partd"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(now)

DATABASE_URL=$("$PGC" start "$WORK/pg" --fast 2>/dev/null)
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }
# settle TABLE...: VACUUM ANALYZE what a section wrote, then wait (60 s at
# most) until no autovacuum worker runs, so that the next timed section does
# not share the cores with the clean-up of the one before.
settle() {
	local t
	for t in "$@"; do q -c "VACUUM (ANALYZE) $t" >/dev/null; done
	for _ in $(seq 1 600); do
		[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && return 0
		sleep 0.1
	done
}
# partd's copy statement is longer than the default 1 kB pg_stat_activity keeps.
q -c "ALTER SYSTEM SET track_activity_query_size = 16384" >/dev/null
DATABASE_URL=$("$PGC" restart "$WORK/pg" 2>/dev/null)
PGLOG=$WORK/pg/log/postgresql.log

bench_tokens

# ---- data -------------------------------------------------------------------
DATE0=$(q -c "SELECT to_char(date_trunc('month', current_date) - interval '11 months', 'YYYY-MM-DD')")
ROWS=$((ACCOUNTS * 360))
note "data: $ACCOUNTS accounts x 360 days from $DATE0 = $ROWS rows, four copies"
q <<SQL
SET maintenance_work_mem = '512MB';
CREATE TABLE seed AS
SELECT 'c' || md5(a || ':' || d) AS id, 'ws_' || (a % 50) AS workspace_id, 'sa_' || a AS social_account_id,
       date '$DATE0' + d AS date,
       (a * 37 + d * 11) % 100000 AS followers, (a + d) % 50 - 25 AS followers_change,
       (a * 13) % 2000 AS following, (a * 101 + d * 7) % 500000 AS impressions,
       (a * 53 + d * 3) % 200000 AS reach, ((a + d) % 1000) / 10000.0::float8 AS engagement_rate,
       (a + d * 5) % 3000 AS profile_views, (a * 3 + d) % 500 AS website_clicks, (a + d) % 40 AS email_clicks,
       jsonb_build_object('likes', (a * 7 + d) % 9000, 'comments', (a + d) % 300,
                          'shares', (a * 3 + d) % 150, 'saves', d % 90) AS platform_metrics,
       (date '$DATE0' + d) + time '03:00' + (a % 3600) * interval '1 second' AS synced_at
  FROM generate_series(0, 359) d, generate_series(1, $ACCOUNTS) a;
SQL
for t in src_ref src_partd src_partman src_live; do
	q <<SQL
SET maintenance_work_mem = '512MB';
CREATE TABLE public.$t (
  id text NOT NULL, workspace_id text NOT NULL, social_account_id text NOT NULL,
  date date NOT NULL, followers int DEFAULT 0, followers_change int DEFAULT 0,
  following int DEFAULT 0, impressions int DEFAULT 0, reach int DEFAULT 0,
  engagement_rate float8 DEFAULT 0, profile_views int DEFAULT 0, website_clicks int DEFAULT 0,
  email_clicks int DEFAULT 0, platform_metrics jsonb, synced_at timestamp DEFAULT now());
INSERT INTO public.$t SELECT * FROM seed;
ALTER TABLE public.$t ADD PRIMARY KEY (id), ADD UNIQUE (social_account_id, date);
CREATE INDEX ON public.$t (workspace_id, date);
VACUUM ANALYZE public.$t;
SQL
done
q -c "DROP TABLE seed" -c "CREATE SEQUENCE public.live_ids" \
	-c "CREATE SCHEMA partman" -c "CREATE EXTENSION pg_partman SCHEMA partman"
TABLE_MB=$(q -c "SELECT round(pg_relation_size('public.src_ref') / 1048576.0), round(pg_total_relation_size('public.src_ref') / 1048576.0)")
note "each copy: heap ${TABLE_MB%|*} MB, with indexes ${TABLE_MB#*|} MB ($(ms_since "$T_START") ms so far)"

start_partd "$WORK/partd.log" PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800
api PUT /v1/tables/public.src_partd "$ADMIN" '{"partition_column":"date"}' >/dev/null
api PUT /v1/tables/public.src_live "$ADMIN" '{"partition_column":"date"}' >/dev/null
api POST /v1/tables/public.src_partd/migration "$OPERATE" '{"dry_run":true}' >"$WORK/plan.json"
jq -e '.blockers | length == 0' "$WORK/plan.json" >/dev/null || die "the plan has blockers: $(jq -c .blockers "$WORK/plan.json")"
PLAN_PARTS=$(jq -r '"\(.partitions) (\(.first_partition)..\(.last_partition)) + default"' "$WORK/plan.json")

# ---- 1a. the reference: one INSERT ... SELECT ----------------------------------
note "1/4 reference: INSERT INTO src_ref_new SELECT * FROM src_ref"
# The plan's DDL and the indexes partd builds after its copy: the reference
# maintains the same primary key, unique constraint and index as it inserts
# (made on the parent with its partitions, not ON ONLY the parent as partd
# makes them before it attaches each partition's, and named for src_ref).
jq -r '(.ddl + .indexes_after_copy)[] + ";"' "$WORK/plan.json" | sed 's/src_partd/src_ref/g; s/ALTER TABLE ONLY /ALTER TABLE /; s/ ON ONLY / ON /' >"$WORK/ref_ddl.sql"
q -f "$WORK/ref_ddl.sql"
q -c CHECKPOINT
printf '%s\n' '\timing on' 'INSERT INTO public.src_ref_new SELECT * FROM public.src_ref;' >"$WORK/ref.sql"
q -f "$WORK/ref.sql" >"$WORK/ref.out"
REF_MS=$(psql_ms "$WORK/ref.out")
REF_N=$(q -c "SELECT count(*) FROM public.src_ref_new")
[ "$REF_N" = "$ROWS" ] || die "src_ref_new holds $REF_N rows, not $ROWS"
REF_RPS=$(rate "$ROWS" "$REF_MS")
note "reference: $ROWS rows in $REF_MS ms = $REF_RPS rows/s"
settle public.src_ref_new

# Jobs are watched gently, and while the writer runs the same way in the
# baseline: a poll every 100 ms that forks curl, jq and awk a few times
# takes a 1 ms write's p99 here from 0.8 to 3.5 ms by itself (every 1 s:
# 1.3 ms), which would be charged to the migration. observe ID FILE: one
# GET /v1/jobs/ID, parsed in bash (one fork: curl), appended to FILE as
# "epoch state phase done"; sets STATE.
WATCH_S=${WATCH_S:-2}
STATE= PHASE=
observe() {
	local done=?
	PHASE=?
	call GET "/v1/jobs/$1" "$READ"
	[ "$CODE" = 200 ] || die "GET /v1/jobs/$1: HTTP $CODE"
	[[ $BODY =~ \"state\":\"([a-z_]+)\" ]] && STATE=${BASH_REMATCH[1]}
	[[ $BODY =~ \"phase\":\"([^\"]*)\" ]] && PHASE=${BASH_REMATCH[1]// /_}
	[[ $BODY =~ \"done\":([0-9]+) ]] && done=${BASH_REMATCH[1]}
	echo "$(now) $STATE $PHASE $done" >>"$2"
}
# alive PID: the process runs (not a zombie); no fork
alive() {
	local st
	[ -r "/proc/$1/stat" ] && read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null && [ "$st" != Z ]
}
# watch_job ID FILE DEADLINE_S INTERVAL_S HOOK: observe every INTERVAL_S
# until the job ends, running HOOK after each look
watch_job() {
	local deadline=$((${EPOCHREALTIME%.*} + $3))
	while :; do
		observe "$1" "$2"
		case $STATE in
		succeeded) return 0 ;;
		failed | cancelled) die "job $1 ended $STATE: $BODY" ;;
		esac
		"$5"
		((${EPOCHREALTIME%.*} < deadline)) || die "job $1 not done after $3 s: $BODY"
		sleep "$4"
	done
}

# ---- 1b. partd, no writer ------------------------------------------------------------
# capture: once the quiet job copies, partd's copy statement from
# pg_stat_activity into CAPTURE (the watch_job hook of the quiet run).
CAPTURE=$WORK/copy_stmt.sql
capture() {
	if [ "$PHASE" = copy ] && [ ! -s "$CAPTURE" ]; then
		q -c "SELECT query FROM pg_stat_activity WHERE application_name = 'partd-copy'
		        AND query LIKE 'INSERT INTO%FOR SHARE%' LIMIT 1" >"$CAPTURE" || true
	fi
}
# job_times ID: from the job and its events, prints (epoch seconds) started,
# finished, copy start ("now also applies"), copy end ("copied N rows"),
# indexes built ("built and attached"), "old and new agree", "cut over",
# then the rows copied.
job_times() {
	local id=$1 ev job a b c d
	job=$(api GET "/v1/jobs/$id" "$READ")
	ev=$(api GET "/v1/jobs/$id/events?limit=1000" "$READ")
	printf '%s\n' "$ev" >"$WORK/events-$id.json"
	ev_at() { jq -r --arg re "$1" '[.events[] | select(.message | test($re))][0].at // empty' <<<"$ev"; }
	a=$(ev_at 'now also applies') b=$(ev_at '^copied [0-9]+ rows') c=$(ev_at '^old and new agree')
	d=$(ev_at '^cut over') x=$(ev_at 'built and attached')
	if [ -z "$a" ] || [ -z "$b" ] || [ -z "$c" ] || [ -z "$d" ] || [ -z "$x" ]; then
		die "job $id lacks a phase event: $(jq -c '[.events[].message]' <<<"$ev")"
	fi
	echo "$(epoch "$(jq -r .started_at <<<"$job")") $(epoch "$(jq -r .finished_at <<<"$job")")" \
		"$(epoch "$a") $(epoch "$b") $(epoch "$x") $(epoch "$c") $(epoch "$d")" \
		"$(jq -r '[.events[] | select(.message | test("^copied [0-9]+ rows"))][0].data.rows' <<<"$ev")"
}

note "2/4 partd: migration of src_partd, batch_rows 20000, no writer"
q -c CHECKPOINT
QJOB=$(api POST /v1/tables/public.src_partd/migration "$OPERATE" '{"batch_rows":20000}' | jq -r .id)
[[ "$QJOB" =~ ^[0-9]+$ ]] || die "POST migration gave no job id"
watch_job "$QJOB" "$WORK/poll-quiet" 480 0.5 capture
J=$(job_times "$QJOB")
read -r Q_started Q_finished Q_copy0 Q_rows1 Q_copy1 Q_agree Q_cut Q_copied <<<"$J"
# Copy and index phases from the events, and from the 500 ms polls (first
# poll in copy to first poll in validate).
Q_COPY_MS=$(awk -v a="$Q_copy0" -v b="$Q_copy1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
Q_ROWS_MS=$(awk -v a="$Q_copy0" -v b="$Q_rows1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
Q_INDEX_MS=$((Q_COPY_MS - Q_ROWS_MS))
Q_RPS=$(rate "$Q_copied" "$Q_COPY_MS")
Q_POLL_MS=$(awk '$3 == "copy" && !a { a = $1 } a && $3 == "validate" && !b { b = $1 } END { printf "%.0f", (b - a) * 1000 }' "$WORK/poll-quiet")
Q_JOB_MS=$(awk -v a="$Q_started" -v b="$Q_finished" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
Q_VALIDATE_MS=$(awk -v a="$Q_copy1" -v b="$Q_agree" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
Q_PREP_MS=$(awk -v a="$Q_started" -v b="$Q_copy0" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
Q_CUT_MS=$(awk -v a="$Q_agree" -v b="$Q_cut" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
COPY_RATIO=$(div "$Q_RPS" "$REF_RPS")
note "partd copy: $Q_copied rows in $Q_COPY_MS ms (rows $Q_ROWS_MS ms + indexes $Q_INDEX_MS ms; polls: $Q_POLL_MS ms) = $Q_RPS rows/s; ratio to reference $COPY_RATIO"

# Where a batch's time goes: partd's own copy statement (from
# pg_stat_activity), pointed at src_ref -> an emptied src_ref_new (whose
# secondary indexes make it dearer than partd's, which has only its key
# then) in a rolled-back transaction, over the first 600 blocks (some 20,000
# rows), with and without its FOR SHARE.
DIAG="not captured"
if grep -q 'FOR SHARE' "$WORK/copy_stmt.sql" 2>/dev/null; then
	sed -i 's/"src_partd_new"/"src_ref_new"/g; s/"src_partd"/"src_ref"/g' "$WORK/copy_stmt.sql"
	stmt=$(cat "$WORK/copy_stmt.sql")
	: >"$WORK/diag"
	for v in share plain share plain; do
		s=$stmt
		[ "$v" = plain ] && s=${s// FOR SHARE/}
		q -c CHECKPOINT
		{
			echo "BEGIN; TRUNCATE public.src_ref_new;"
			echo "PREPARE b(tid, tid) AS $s;"
			echo "EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) EXECUTE b('(0,0)', '(600,0)');"
			echo "ROLLBACK;"
		} | q | jq -r --arg v "$v" '.[0] as $r | "\($v) \($r["Execution Time"] | floor) \($r.Plan["Actual Rows"] // 0) \($r.Plan["WAL Records"]) \($r.Plan["Shared Dirtied Blocks"])"' >>"$WORK/diag"
	done
	# The second run of each (the first warms up).
	DIAG=$(awk '{ n[$1]++ } n[$1] == 2 { printf "%s%s: %s ms, %s WAL records, %s buffers dirtied", (k++ ? "; " : ""), ($1 == "share" ? "as partd runs it (FOR SHARE)" : "without FOR SHARE"), $2, $4, $5 }' "$WORK/diag")
	note "one 600-block range: $DIAG"
fi

# ---- 2. pg_partman ---------------------------------------------------------------
note "3/4 pg_partman 4.7: partition_data_proc from src_partman_old"
settle public.src_partd public.src_partd_old
q <<SQL
ALTER TABLE public.src_partman RENAME TO src_partman_old;
CREATE TABLE public.src_partman (LIKE public.src_partman_old INCLUDING DEFAULTS,
  PRIMARY KEY (id, date), UNIQUE (social_account_id, date)) PARTITION BY RANGE (date);
CREATE INDEX ON public.src_partman (workspace_id, date);
SELECT partman.create_parent('public.src_partman', 'date', 'native', 'monthly', p_start_partition := '$DATE0') \\g /dev/null
CHECKPOINT;
SQL
printf '%s\n' '\timing on' \
	"CALL partman.partition_data_proc('public.src_partman', p_batch := 1000, p_wait := 0, p_source_table := 'public.src_partman_old');" >"$WORK/pm.sql"
PGOPTIONS='' q -f "$WORK/pm.sql" >"$WORK/pm.out" 2>&1 || die "partition_data_proc failed: $(tail -5 "$WORK/pm.out")"
PM_MS=$(psql_ms "$WORK/pm.out")
PM_MOVED=$(grep -o 'Total rows moved: [0-9]*' "$WORK/pm.out" | grep -o '[0-9]*$')
PM_BATCHES=$(grep -c 'Rows moved:' "$WORK/pm.out" || true)
[ "$PM_MOVED" = "$ROWS" ] || die "pg_partman moved $PM_MOVED rows, not $ROWS: $(tail -5 "$WORK/pm.out")"
PM_CHECK=$(q -F ' ' -c "SELECT (SELECT count(*) FROM public.src_partman), (SELECT count(*) FROM public.src_partman_old),
	(SELECT count(*) FROM public.src_partman_default),
	(SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.src_partman'::regclass)")
read -r PM_N PM_LEFT PM_DEFAULT PM_PARTS <<<"$PM_CHECK"
PM_PARTS=$((PM_PARTS - 1))
[ "$PM_N $PM_LEFT $PM_DEFAULT" = "$ROWS 0 0" ] || die "pg_partman: $PM_N rows moved in, $PM_LEFT left, $PM_DEFAULT in default"
PM_RPS=$(rate "$ROWS" "$PM_MS")
PM_RATIO=$(div "$Q_RPS" "$PM_RPS")
note "pg_partman: $ROWS rows in $PM_MS ms ($PM_BATCHES batches) = $PM_RPS rows/s; partd / pg_partman $PM_RATIO"

# ---- 3. a writer during the migration ---------------------------------------------------
note "4/4 pgbench writer: baseline, then during the migration of src_live"
settle public.src_partman public.src_partman_old
cat >"$WORK/ins.sql" <<SQL
\\set a random(1, $ACCOUNTS)
\\set d random(0, 359)
INSERT INTO public.src_live (id, workspace_id, social_account_id, date, followers, impressions, platform_metrics)
SELECT 'n' || s, 'ws_' || (:a % 50), 'sn_' || s, date '$DATE0' + :d, :a, :d, '{"likes": 1}' FROM nextval('public.live_ids') s;
SQL
cat >"$WORK/upd.sql" <<SQL
\\set a random(1, $ACCOUNTS)
\\set d random(0, 359)
UPDATE public.src_live SET followers = followers + 1, impressions = impressions + 10, synced_at = now()
 WHERE id = 'c' || md5(:a || ':' || :d);
SQL
cat >"$WORK/del.sql" <<SQL
\\set a random(1, $ACCOUNTS)
\\set d random(0, 359)
DELETE FROM public.src_live WHERE id = 'c' || md5(:a || ':' || :d);
SQL
# pgbench_run SECONDS PREFIX: in the background (pgb_pid), log files PREFIX.*
pgbench_run() {
	(cd "$WORK" && exec "$PGBIN/pgbench" -n -c 4 -j 2 -R "$WRITER_TPS" -T "$1" -l --log-prefix="$2" \
		-f ins.sql@1 -f upd.sql@1 -f del.sql@1 "$DATABASE_URL" >"$WORK/$2.out" 2>&1) &
	pgb_pid=$!
}
# pgbench_wait: 0 when it exited 0
pgbench_wait() {
	local rc=0
	[ -n "$pgb_pid" ] || return 0
	wait "$pgb_pid" || rc=$?
	pgb_pid=
	return "$rc"
}
# Transactions of the logs given: "start end latency_us script" per line.
tx() { cat "$@" | awk '$3 ~ /^[0-9]+$/ { e = $5 + $6 / 1e6; printf "%.6f %.6f %d %d\n", e - $3 / 1e6, e, $3, $4 }'; }
# pct P: the P-th percentile of numbers on stdin, in ms
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) print "nan"; else { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.2f", a[i] / 1000 } }'; }
failures() { # pgbench outputs: failed transactions
	awk '/^number of failed transactions/ { f += $5 } END { print f + 0 }' "$@"
}
aborted() { # pgbench outputs: clients aborted (an error other than a serialization failure)
	# pgbench 15: "pgbench: error: client 2 script 0 aborted in command ..."
	cat "$@" | awk '/client [0-9]+ (script [0-9]+ )?aborted/ { n++ } END { print n + 0 }'
}

# cpu_now: total, idle (+iowait) and steal jiffies of all CPUs so far
cpu_now() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6, $9 }' /proc/stat; }
# cpu_share BEFORE AFTER: the share of CPU time stolen by the host and idle between two cpu_now
cpu_share() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; if (t <= 0) t = 1
		printf "steal %.1f %%, idle %.1f %%", 100 * (y[3] - x[3]) / t, 100 * (y[2] - x[2]) / t }'
}

# The baseline: 2.5 times the quiet job + 40 s (BASE_S overrides). Both
# windows leave out the writer's first WARMUP_S seconds: pgbench's rate
# schedule starts before its connections are made, so its first
# transactions queue behind them (30-80 ms each) whatever the server does.
BASE_S=${BASE_S:-$(awk -v d="$Q_JOB_MS" 'BEGIN { printf "%d", 2.5 * d / 1000 + 40 }')}
WARMUP_S=2
q -c CHECKPOINT
CPU_B0=$(cpu_now)
BASE_T0=$(now)
pgbench_run "$BASE_S" base
# The same observer as during the migration, on the finished quiet job.
while alive "$pgb_pid"; do
	observe "$QJOB" "$WORK/poll-base"
	sleep "$WATCH_S"
done
pgbench_wait || note "baseline pgbench exited non-zero: $(tail -3 "$WORK/base.out")"
tx "$WORK"/base.[0-9]* | awk -v s="$BASE_T0" -v w="$WARMUP_S" '$1 >= s + w' >"$WORK/base.tx"
BASE_N=$(wc -l <"$WORK/base.tx")
BASE_TPS=$(div "$BASE_N" "$((BASE_S - WARMUP_S))" 0)
BASE_P50=$(awk '{ print $3 }' "$WORK/base.tx" | pct 50)
BASE_P99=$(awk '{ print $3 }' "$WORK/base.tx" | pct 99)
BASE_MAX=$(awk '{ print $3 }' "$WORK/base.tx" | pct 100)
BASE_FAIL=$(failures "$WORK/base.out")+$(aborted "$WORK/base.out")
BASE_CPU=$(cpu_share "$CPU_B0" "$(cpu_now)")
note "baseline: $BASE_S s, $BASE_N transactions, $BASE_TPS tps, p50 $BASE_P50 ms, p99 $BASE_P99 ms, max $BASE_MAX ms, failed+aborted $BASE_FAIL; $BASE_CPU"

# ACTIVITY=1: what the server's backends other than the writer's do, once a
# second through the run (one psql, \watch), in WORK/activity.log; with
# KEEP_WORK=1, to see what a phase's tail comes from. Off by default: the
# figures above were measured without it.
act_pid=
bench_track act_pid
if [ "${ACTIVITY:-0}" = 1 ]; then
	printf '%s\n' "SELECT round(extract(epoch FROM clock_timestamp())::numeric, 1), pid, backend_type, application_name, coalesce(wait_event_type || ':' || wait_event, 'cpu'), left(regexp_replace(query, '\s+', ' ', 'g'), 100) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle' AND (backend_type <> 'client backend' OR application_name LIKE 'partd%') AND backend_type NOT IN ('checkpointer', 'background writer', 'walwriter', 'logical replication launcher', 'autovacuum launcher') \\watch 1" |
		psql -X -q -A -t -F'|' "$DATABASE_URL" >"$WORK/activity.log" 2>&1 &
	# shellcheck disable=SC2034 # read at exit, by bench_track
	act_pid=$!
fi
# The writer is one pgbench run, long enough for any job (LIVE_MAX_S), that
# is stopped once the job is done: a run that ends and starts again during
# the job would bring its warm-up into the window every time (pgbench runs
# of 15 s did: a p99 of 40-90 ms in each 5 s after a restart).
LIVE_MAX_S=${LIVE_MAX_S:-7200}
SEG=1
pgbench_run "$LIVE_MAX_S" live1
sleep "$WARMUP_S"
# The POST plans the migration inside the request (statement_timeout
# PARTD_REQUEST_TIMEOUT_MS); record what it answers under the writer.
POSTS=""
LJOB=
for _ in 1 2 3; do
	call POST /v1/tables/public.src_live/migration "$OPERATE" "$LIVE_KNOBS"
	POSTS+="${POSTS:+, }HTTP $CODE in $(awk -v s="$SECS" 'BEGIN { printf "%.1f", s }') s"
	if [ "$CODE" = 202 ]; then
		LJOB=$(jq -r .id <<<"$BODY")
		break
	fi
	note "POST migration under the writer: HTTP $CODE after $SECS s: ${BODY:0:300}"
	[ "$CODE" = 503 ] || die "POST migration: HTTP $CODE: $BODY"
	t0=$(now)
	q -c "VACUUM public.src_live"
	POSTS+=" (then VACUUM src_live: $(ms_since "$t0") ms)"
done
[[ "$LJOB" =~ ^[0-9]+$ ]] || die "POST migration on src_live never took: $POSTS"
# Should the writer end before the job (LIVE_MAX_S too short), another run
# goes on; the figures then say how many runs there were.
extend() {
	if [ -n "$pgb_pid" ] && ! alive "$pgb_pid"; then
		pgbench_wait || note "pgbench run $SEG exited non-zero"
		SEG=$((SEG + 1))
		pgbench_run "$LIVE_MAX_S" "live$SEG"
	fi
}
CPU_L0=$(cpu_now)
watch_job "$LJOB" "$WORK/poll-live" 1500 "$WATCH_S" extend
LIVE_CPU=$(cpu_share "$CPU_L0" "$(cpu_now)")
J=$(job_times "$LJOB")
read -r L_started L_finished L_copy0 L_rows1 L_copy1 L_agree L_cut L_copied <<<"$J"
# The writer covers 3 s past the cut-over and 1 s past the job's end; then
# its backends are terminated: every client aborts and pgbench ends by
# itself, its logs written out and its summary printed (a signal would lose
# the logs' tail). Clients aborted before that count.
while awk -v a="$(now)" -v c="$L_cut" -v f="$L_finished" 'BEGIN { exit !(a < c + 3 || a < f + 1) }'; do
	extend
	sleep 0.5
done
LIVE_ABORTED=$(aborted "$WORK"/live*.out)
q -c "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
pgbench_wait || true
tx "$WORK"/live[0-9]*.[0-9]* >"$WORK/live.tx"
LIVE_FAIL=$(failures "$WORK"/live*.out)
awk -v s="$L_started" -v e="$L_finished" '$2 >= s && $2 <= e' "$WORK/live.tx" >"$WORK/during.tx"
DUR_N=$(wc -l <"$WORK/during.tx")
DUR_S=$(awk -v s="$L_started" -v e="$L_finished" 'BEGIN { printf "%.1f", e - s }')
DUR_TPS=$(div "$DUR_N" "$DUR_S" 0)
DUR_P50=$(awk '{ print $3 }' "$WORK/during.tx" | pct 50)
DUR_P99=$(awk '{ print $3 }' "$WORK/during.tx" | pct 99)
DUR_MAX=$(awk '{ print $3 }' "$WORK/during.tx" | pct 100)
DUR_OVER1S=$(awk '$3 > 1000000' "$WORK/during.tx" | wc -l)
OPS=(INSERT UPDATE DELETE)
DUR_OPS=""
for i in 0 1 2; do
	DUR_OPS+="${DUR_OPS:+, }${OPS[$i]} $(awk -v k="$i" '$4 == k { print $3 }' "$WORK/during.tx" | pct 99)"
done
BASE_OPS=""
for i in 0 1 2; do
	BASE_OPS+="${BASE_OPS:+, }${OPS[$i]} $(awk -v k="$i" '$4 == k { print $3 }' "$WORK/base.tx" | pct 99)"
done
P99_RATIO=$(div "$DUR_P99" "$BASE_P99")
# p99 of the writes that ended in each phase of the job.
phase_p99() { awk -v s="$1" -v e="$2" '$2 >= s && $2 <= e { print $3 }' "$WORK/live.tx" | pct 99; }
DUR_PHASES="prepare+trigger $(phase_p99 "$L_started" "$L_copy0"), copy $(phase_p99 "$L_copy0" "$L_rows1"), index $(phase_p99 "$L_rows1" "$L_copy1"), validate $(phase_p99 "$L_copy1" "$L_agree"), cut-over $(phase_p99 "$L_agree" "$L_finished")"
# The copy phase alone, the longest wait inside it.
COPY_MAX=$(awk -v s="$L_copy0" -v e="$L_copy1" '$2 >= s && $1 <= e { print $3 }' "$WORK/live.tx" | pct 100)
# Cut-over: the longest transaction overlapping +-2 s of the event, how many
# were blocked > 1 s, and how long the cut-over took after validation.
STALL_MS=$(awk -v c="$L_cut" '$2 >= c - 2 && $1 <= c + 2 { print $3 }' "$WORK/live.tx" | pct 100)
STALL_N=$(awk -v c="$L_cut" '$2 >= c - 2 && $1 <= c + 2 && $3 > 1000000' "$WORK/live.tx" | wc -l)
CUT_GAP_MS=$(awk -v a="$L_agree" -v b="$L_cut" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
# Autovacuum workers cancelled around the cut-over (they hold the new
# partitions the cut-over's LOCK TABLE waits for).
AV_CANCEL=0
while read -r d t _; do
	e=$(date -u -d "$d $t" +%s.%3N 2>/dev/null) || continue
	awk -v e="$e" -v c="$L_cut" 'BEGIN { exit !(e >= c - 10 && e <= c + 1) }' && AV_CANCEL=$((AV_CANCEL + 1))
done < <(grep 'canceling autovacuum task' "$PGLOG" || true)
awk -v f="$L_finished" '$1 > f + 1 { print $3 }' "$WORK/live.tx" >"$WORK/after.lat"
AFTER_N=$(wc -l <"$WORK/after.lat")
AFTER_P99=$(pct 99 <"$WORK/after.lat")
L_COPY_MS=$(awk -v a="$L_copy0" -v b="$L_copy1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
L_RPS=$(rate "$L_copied" "$L_COPY_MS")
L_ROWS_MS=$(awk -v a="$L_copy0" -v b="$L_rows1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
L_ROWS_RPS=$(rate "$L_copied" "$L_ROWS_MS")
note "during the migration ($DUR_S s): $DUR_N transactions, p99 $DUR_P99 ms (baseline $BASE_P99 ms), ratio $P99_RATIO; by phase: $DUR_PHASES; failed $LIVE_FAIL, clients aborted $LIVE_ABORTED"
note "cut-over: longest write $STALL_MS ms, $STALL_N transactions blocked > 1 s; validate -> cut over $CUT_GAP_MS ms; autovacuum cancelled $AV_CANCEL times around it"

# ---- correctness ------------------------------------------------------------------------
note "correctness: counts and EXCEPT ALL both ways"
same() { # A B: "rows_a rows_b a-b b-a"
	q -F ' ' -c "SET work_mem = '256MB'" -c "SELECT (SELECT count(*) FROM public.$1), (SELECT count(*) FROM public.$2),
	  (SELECT count(*) FROM (SELECT * FROM public.$1 EXCEPT ALL SELECT * FROM public.$2) x),
	  (SELECT count(*) FROM (SELECT * FROM public.$2 EXCEPT ALL SELECT * FROM public.$1) y)"
}
CHK_Q=$(same src_partd src_partd_old)
CHK_L=$(same src_live src_live_old)
KIND=$(q -c "SELECT string_agg(c.relname || '=' || c.relkind::text, ' ' ORDER BY c.relname) FROM pg_class c
              WHERE c.relname IN ('src_partd', 'src_live') AND c.relnamespace = 'public'::regnamespace")
ok_same() { awk '{ exit !($1 == $2 && $3 == 0 && $4 == 0) }' <<<"$1"; }
CORRECT=pass
ok_same "$CHK_Q" || CORRECT=FAIL
ok_same "$CHK_L" || CORRECT=FAIL
[ "$KIND" = "src_live=p src_partd=p" ] || CORRECT=FAIL
[ "$(awk '{ print $1 }' <<<"$CHK_Q")" = "$ROWS" ] || CORRECT=FAIL
note "src_partd vs _old: $CHK_Q; src_live vs _old: $CHK_L; $KIND: $CORRECT"
TOTAL_S=$(awk -v ms="$(ms_since "$T_START")" 'BEGIN { printf "%.0f", ms / 1000 }')

# ---- results ----------------------------------------------------------------------------
FAIL_OK=$([ "$LIVE_FAIL" = 0 ] && [ "$LIVE_ABORTED" = 0 ] && echo pass || echo FAIL)
{
	echo
	echo "## Migration: $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	echo
	echo "\`bench/migration.sh\`; partd $REV and PostgreSQL 15 (--fast: fsync off; shared_buffers 128 MB) on the same machine;"
	echo "load average at the start $LOAD; the run took $TOTAL_S s. partd: 2 workers; the quiet migration batch_rows 20000, parallel 2, no rate limit;"
	echo "the one under the writer $LIVE_KNOBS."
	echo "Data: platform_analytics, $ROWS rows ($ACCOUNTS accounts x 360 days from $DATE0), heap ${TABLE_MB%|*} MB, ${TABLE_MB#*|} MB with indexes;"
	echo "the new table: $PLAN_PARTS partitions."
	echo
	echo "| measure | partd | reference | figure | goal | result |"
	echo "|---|---|---|---|---|---|"
	echo "| copy phase and the index phase after it, no writer | $Q_copied rows in $Q_COPY_MS ms (rows $Q_ROWS_MS ms, then indexes $Q_INDEX_MS ms; 500 ms polls: $Q_POLL_MS ms) = $Q_RPS rows/s | \`INSERT INTO src_ref_new SELECT * FROM src_ref\` (partd's planned DDL): $REF_MS ms = $REF_RPS rows/s | ratio $COPY_RATIO | ≥ 1.0 | $(verdict "$COPY_RATIO" '>=' 1.0) |"
	echo "| same copy vs pg_partman | $Q_RPS rows/s | pg_partman 4.7 \`partition_data_proc\` (p_wait 0, source src_partman_old, $PM_BATCHES batches; $PM_PARTS partitions + default): $PM_MS ms = $PM_RPS rows/s | ratio $PM_RATIO | ≥ 1.3 | $(verdict "$PM_RATIO" '>=' 1.3) |"
	echo "| pgbench writer (4 clients at $WRITER_TPS tps, INSERT/UPDATE/DELETE 1:1:1) p99 during the migration | $DUR_P99 ms over $DUR_N transactions in $DUR_S s ($DUR_TPS tps; p50 $DUR_P50 ms, max $DUR_MAX ms, $DUR_OVER1S over 1 s; p99 by op: $DUR_OPS; p99 by phase: $DUR_PHASES; CPU: $LIVE_CPU) | same script for $BASE_S s before, unmigrated: p99 $BASE_P99 ms ($BASE_TPS tps; p50 $BASE_P50 ms, max $BASE_MAX ms; p99 by op: $BASE_OPS; CPU: $BASE_CPU) | ratio $P99_RATIO | ≤ 2.0 | $(verdict "$P99_RATIO" '<=' 2.0) |"
	echo "| failed transactions of the writer | $LIVE_FAIL, and $LIVE_ABORTED clients aborted (baseline: failed+aborted $BASE_FAIL) | | $LIVE_FAIL | 0 | $FAIL_OK |"
	echo "| cut-over's longest write stall (largest latency within ±2 s of the \"cut over\" event) | $STALL_MS ms; $STALL_N transactions blocked over 1 s; \"old and new agree\" to \"cut over\": $CUT_GAP_MS ms; autovacuum cancelled $AV_CANCEL times in the 10 s before | | $STALL_MS ms | reported | |"
	echo "| correctness: counts, EXCEPT ALL both ways vs \`_old\` | src_partd: $CHK_Q; src_live (after the writer): $CHK_L; $KIND | | | equal, 0 0 | $CORRECT |"
	echo
	echo "No writer: the job ran $Q_JOB_MS ms (prepare + trigger $Q_PREP_MS ms, copy $Q_ROWS_MS ms, index $Q_INDEX_MS ms, validate $Q_VALIDATE_MS ms, cut-over $Q_CUT_MS ms)."
	echo "One 600-block range (~20,000 rows), partd's own copy statement from pg_stat_activity run on src_ref in a rolled-back"
	echo "transaction (second run of each): $DIAG."
	echo "With the writer: POST .../migration answered $POSTS; the copy phase and the index phase after it ran $L_COPY_MS ms = $L_RPS rows/s (the rows alone $L_ROWS_MS ms = $L_ROWS_RPS rows/s);"
	echo "the longest write inside the copy phase took $COPY_MAX ms; after the job ($AFTER_N transactions on the partitioned table) p99 $AFTER_P99 ms."
	echo "The writer ran as $SEG pgbench run(s), each stopped when the job was done (its backends terminated), the baseline as one of $BASE_S s; each window from ${WARMUP_S} s after its pgbench started; both watched by one GET /v1/jobs/{id} every $WATCH_S s."
} | tee -a "$RESULTS"
