#!/usr/bin/env bash
# bench/partitions.sh: partd's partition work against references, each figure
# a ratio (or a time) measured within ONE run on one throwaway PostgreSQL 15;
# appends the figures, goals and pass/fail, with the machine and the date, to
# bench/RESULTS.md. Run on demand, never in CI. Takes about 5 minutes, most of
# it making the 10,000-partition table.
#
#   bench/partitions.sh
#   RESULTS=/tmp/smoke.md bench/partitions.sh   (the figures elsewhere)
#
# What it runs (ANALYTICS = the seed's platform_analytics columns, PARTITION
# BY RANGE (date), PRIMARY KEY (id, date), UNIQUE (social_account_id, date),
# INDEX (workspace_id, date)):
#
# 1. Premake, 36 months ahead on 10 tables each side (pa_1..pa_10, pm_1..pm_10):
#      partd (PARTD_WORKERS=2, PARTD_SCHEDULER_INTERVAL_S=604800, tables
#      registered only after the start-up scheduler pass has run):
#        PUT  /v1/tables/public.pa_N  {"partition_column":"date","interval":"month","premake":36}
#        POST /v1/tables/public.pa_N/partitions {"ahead":36}      (N = 1..10, back to back)
#        GET  /v1/jobs/{id} every 50 ms until all 10 are succeeded
#      timed from the first POST to the last succeeded;
#      pg_partman 4.7, one timed psql call:
#        SELECT partman.create_parent('public.pm_N', 'date', 'native', 'monthly',
#               p_premake := 36, p_start_partition := '<first day of this month>');  (N = 1..10)
#        CALL partman.run_maintenance_proc();
#      then both sides must have 37 non-default partitions per table, the
#      same first and last bounds (pg_inherits). Goal: partd / pg_partman <= 1.
# 2. Scheduler pass with nothing to do over those 10 tables: partd restarted
#    with PARTD_SCHEDULER_INTERVAL_S=1; median duration_ms of the `scheduler
#    pass` log lines with tables=10, enqueued=0, failed=0 (7 passes). Goal <= 20 ms.
# 3. GET /v1/tables/public.big/partitions, 120 monthly partitions (made by a
#    DO block, the last one current month + 3 so the scheduler has nothing to
#    do; 5 rows in each; ANALYZE; registered with premake 3):
#      wrk -t2 -c32 -d10s --latency -H 'Authorization: Bearer <read token>' URL
#      pgbench -n -c 32 -j 2 -T 10 -f query.sql   (sql/partitions_list.sql, $1 = big's oid)
#    Goals: partd requests/s / pgbench tps >= 1; partd p99 <= 20 ms.
# 4. The same GET on public.daily, 10,000 daily partitions ending today + 3
#    (DO block, COMMIT every 500), registered {"interval":"day","premake":3}:
#      5 sequential curl GETs; median and max. Goal <= 200 ms.
#    max_locks_per_transaction stays at its default (64): batches of 500 fit
#    the shared lock table, and the catalog query holds only a handful of
#    locks (pg_table_size / pg_indexes_size release theirs); the script
#    records how many.
#
# partd runs from a copy of bin/partd taken at the start (the tree may be
# rebuilt meanwhile), with a tokens file of lines `<scope> <name> <sha256>`.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init partitions.sh parts
RESULTS=${RESULTS:-bench/RESULTS.md}
scripts/deps.sh postgresql-15-partman wrk
make -s bin/partd

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# wrk's latency ("850.00us", "12.34ms", "1.02s") in ms
to_ms() { awk -v x="$1" 'BEGIN { n = x + 0; if (x ~ /us$/) n /= 1000; else if (x ~ /ms$/) n += 0; else if (x ~ /s$/) n *= 1000; printf "%.2f", n }'; }

cp bin/partd "$WORK/partd"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

DATABASE_URL=$("$PGC" start "$WORK/pg" --fast 2>/dev/null)
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }

bench_tokens

# The seed's platform_analytics, as parent NAME.
parent_ddl() {
	cat <<SQL
CREATE TABLE public.$1 (
  id text NOT NULL, workspace_id text NOT NULL, social_account_id text NOT NULL,
  date date NOT NULL, followers int DEFAULT 0, followers_change int DEFAULT 0,
  following int DEFAULT 0, impressions int DEFAULT 0, reach int DEFAULT 0,
  engagement_rate float8 DEFAULT 0, profile_views int DEFAULT 0, website_clicks int DEFAULT 0,
  email_clicks int DEFAULT 0, platform_metrics jsonb, synced_at timestamp DEFAULT now(),
  PRIMARY KEY (id, date), UNIQUE (social_account_id, date)
) PARTITION BY RANGE (date);
CREATE INDEX ON public.$1 (workspace_id, date);
SQL
}

# ---- 1. premake ------------------------------------------------------------
note "1/4 premake: 10 tables x 36 months ahead, partd vs pg_partman"
{
	for n in $(seq 1 10); do parent_ddl "pa_$n"; parent_ddl "pm_$n"; done
	echo "CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman;"
} | q
MONTH0=$(q -c "SELECT to_char(date_trunc('month', current_date), 'YYYY-MM-DD')")

start_partd "$WORK/partd-1.log" PARTD_POOL_SIZE=16 PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800
for n in $(seq 1 10); do
	api PUT "/v1/tables/public.pa_$n" "$ADMIN" '{"partition_column":"date","interval":"month","premake":36}' >/dev/null
done

# pg_partman first, so it works on the smaller catalog (partd's partitions
# do not exist yet): if anything, that favours the reference.
{
	for n in $(seq 1 10); do
		echo "SELECT partman.create_parent('public.pm_$n', 'date', 'native', 'monthly', p_premake := 36, p_start_partition := '$MONTH0');"
	done
	echo "CALL partman.run_maintenance_proc();"
} >"$WORK/partman.sql"
t0=$(now)
q -f "$WORK/partman.sql" >/dev/null
PARTMAN_MS=$(ms_since "$t0")

ids=()
t0=$(now)
for n in $(seq 1 10); do
	id=$(api POST "/v1/tables/public.pa_$n/partitions" "$OPERATE" '{"ahead":36}' | jq -r .id)
	[[ "$id" =~ ^[0-9]+$ ]] || die "POST partitions on pa_$n gave no job id"
	ids+=("$id")
done
pending=("${ids[@]}")
while ((${#pending[@]})); do
	left=()
	for id in "${pending[@]}"; do
		state=$(api GET "/v1/jobs/$id" "$READ" | jq -r .state)
		case $state in
		succeeded) ;;
		failed | cancelled) die "job $id ended $state: $(api GET "/v1/jobs/$id" "$READ")" ;;
		*) left+=("$id") ;;
		esac
	done
	pending=("${left[@]+"${left[@]}"}")
	((${#pending[@]} == 0)) && break
	(($(ms_since "$t0") < 600000)) || die "partd jobs not done after 10 minutes"
	sleep 0.05
done
PARTD_MS=$(ms_since "$t0")
PARTD_MADE=0
for id in "${ids[@]}"; do
	PARTD_MADE=$((PARTD_MADE + $(api GET "/v1/jobs/$id" "$READ" | jq '.result.created | length')))
done
# Time inside the jobs (start of the first to end of the last) and the mean job.
JOB_SPAN=$(q -c "SELECT round(extract(epoch FROM max(finished_at) - min(started_at)) * 1000),
                        round(extract(epoch FROM avg(finished_at - started_at)) * 1000)
                   FROM partd.jobs WHERE kind = 'partitions.create'")

# Per parent: non-default partitions, defaults, first and last bound.
q -F ' ' -c "
SELECT p.relname,
       count(*) FILTER (WHERE b <> 'DEFAULT'),
       count(*) FILTER (WHERE b = 'DEFAULT'),
       replace(min(b) FILTER (WHERE b <> 'DEFAULT'), ' ', '_'),
       replace(max(b) FILTER (WHERE b <> 'DEFAULT'), ' ', '_')
  FROM pg_class p
  JOIN pg_inherits i ON i.inhparent = p.oid
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS b) x
 WHERE p.relnamespace = 'public'::regnamespace AND p.relname ~ '^p[am]_[0-9]+\$'
 GROUP BY p.relname ORDER BY p.relname" >"$WORK/counts"
[ "$(wc -l <"$WORK/counts")" = 20 ] || die "expected 20 parents with partitions: $(cat "$WORK/counts")"
awk '$2 != 37 { bad = 1 } END { exit bad }' "$WORK/counts" || die "a table does not have 37 partitions: $(cat "$WORK/counts")"
[ "$(cut -d' ' -f4,5 "$WORK/counts" | sort -u | wc -l)" = 1 ] ||
	die "the sides do not cover the same months: $(cat "$WORK/counts")"
grep -q "FROM_('$MONTH0')" <(head -1 "$WORK/counts") || die "first partition does not start on $MONTH0"
PA_PARTS=$(awk '$1 ~ /^pa_/ { s += $2; d += $3 } END { print s " (+" d " default)" }' "$WORK/counts")
PM_PARTS=$(awk '$1 ~ /^pm_/ { s += $2; d += $3 } END { print s " (+" d " default)" }' "$WORK/counts")
LAST_BOUND=$(head -1 "$WORK/counts" | cut -d' ' -f5 | tr '_' ' ')
[ "$PARTD_MADE" = 370 ] || die "partd's jobs report $PARTD_MADE partitions created, not 370"
PREMAKE_RATIO=$(awk -v a="$PARTD_MS" -v b="$PARTMAN_MS" 'BEGIN { printf "%.2f", a / b }')
note "partd ${PARTD_MS} ms, pg_partman ${PARTMAN_MS} ms, ratio $PREMAKE_RATIO"
stop_partd

# ---- 2. scheduler pass with nothing to do ----------------------------------
note "2/4 scheduler passes over 10 tables with nothing to do"
start_partd "$WORK/partd-2.log" PARTD_POOL_SIZE=16 PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=1
passes() { grep '"msg":"scheduler pass"' "$WORK/partd-2.log" | jq -r 'select(.tables == 10 and .enqueued == 0 and .failed == 0) | .duration_ms' || true; }
for _ in $(seq 1 200); do
	(($(passes | wc -l) >= 7)) && break
	sleep 0.1
done
stop_partd
passes | head -7 >"$WORK/passes"
(($(wc -l <"$WORK/passes") >= 5)) || die "fewer than 5 idle scheduler passes: $(grep 'scheduler' "$WORK/partd-2.log" | tail -5)"
grep '"msg":"scheduler pass"' "$WORK/partd-2.log" | jq -e 'select(.enqueued != 0 or .tables != 10)' >/dev/null &&
	die "a scheduler pass enqueued work or saw other tables: $(grep 'scheduler pass' "$WORK/partd-2.log")"
PASS_N=$(wc -l <"$WORK/passes")
PASS_MED=$(median <"$WORK/passes")
PASS_ALL=$(awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 }' "$WORK/passes")
note "scheduler pass median $PASS_MED ms ($PASS_ALL)"

# ---- 3. 120 partitions under load ------------------------------------------
note "3/4 GET partitions of a 120-partition table: wrk vs pgbench"
{
	parent_ddl big
	cat <<'SQL'
DO $$
DECLARE
  s date := (date_trunc('month', current_date) - interval '116 months')::date;
  a date; i int;
BEGIN
  FOR i IN 0..119 LOOP
    a := (s + make_interval(months => i))::date;
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.big FOR VALUES FROM (%L) TO (%L)',
                   'big_' || to_char(a, 'YYYY_MM'), a, (a + interval '1 month')::date);
  END LOOP;
END $$;
INSERT INTO public.big (id, workspace_id, social_account_id, date, followers, impressions, platform_metrics)
SELECT format('r%s_%s', m, k), 'ws_' || (k % 2), format('sa_%s', k),
       ((date_trunc('month', current_date) - interval '116 months') + make_interval(months => m))::date + k,
       100 * k, 1000 * k, jsonb_build_object('likes', k, 'shares', m)
  FROM generate_series(0, 119) m, generate_series(0, 4) k;
ANALYZE public.big;
SQL
} | q
start_partd "$WORK/partd-3.log" PARTD_POOL_SIZE=16 PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800
api PUT /v1/tables/public.big "$ADMIN" '{"partition_column":"date","interval":"month","premake":3}' >"$WORK/big-put.json"
jq -e '[.alerts[].code] | index("partitions_missing") == null' "$WORK/big-put.json" >/dev/null ||
	die "big is missing coming partitions: $(jq -c .alerts "$WORK/big-put.json")"
n=$(api GET /v1/tables/public.big/partitions "$READ" | jq '[.partitions[] | select(.total_bytes > 0 and .rows > 0)] | length')
[ "$n" = 120 ] || die "GET /v1/tables/public.big/partitions: $n partitions with rows and bytes, not 120"

wrk_out=$(wrk -t2 -c32 -d10s --latency -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/v1/tables/public.big/partitions")
WRK_RPS=$(awk '/Requests\/sec/ { print $2 }' <<<"$wrk_out")
WRK_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$wrk_out")")
WRK_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$wrk_out")")
WRK_ERRS=$(awk '/Non-2xx|Socket errors/' <<<"$wrk_out" | tr '\n' ' ')
[ -z "$WRK_ERRS" ] || note "wrk: $WRK_ERRS"

BIG_OID=$(q -c "SELECT 'public.big'::regclass::oid")
sed "s/\\\$1/$BIG_OID/g" sql/partitions_list.sql >"$WORK/query.sql"
pgb_out=$("$PGBIN/pgbench" -n -c 32 -j 2 -T 10 -f "$WORK/query.sql" "$DATABASE_URL" 2>&1) ||
	die "pgbench failed: $pgb_out"
PGB_TPS=$(awk '/^tps = / { print $3; exit }' <<<"$pgb_out")
PGB_LAT=$(awk '/^latency average/ { print $4 }' <<<"$pgb_out")
[ -n "$PGB_TPS" ] || die "no tps in pgbench's output: $pgb_out"
RPS_RATIO=$(awk -v a="$WRK_RPS" -v b="$PGB_TPS" 'BEGIN { printf "%.2f", a / b }')
note "partd $WRK_RPS req/s (p99 $WRK_P99 ms), pgbench $PGB_TPS tps, ratio $RPS_RATIO"

# ---- 4. 10,000 partitions --------------------------------------------------
note "4/4 GET partitions of a 10,000-partition table (making it takes a few minutes)"
parent_ddl daily | q
t0=$(now)
q <<'SQL'
DO $$
DECLARE s date := current_date + 4 - 10000; i int;
BEGIN
  FOR i IN 0..9999 LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.daily FOR VALUES FROM (%L) TO (%L)',
                   'daily_' || to_char(s + i, 'YYYY_MM_DD'), s + i, s + i + 1);
    IF i % 500 = 499 THEN COMMIT; END IF;
  END LOOP;
END $$;
SQL
MAKE_10K_S=$(awk -v ms="$(ms_since "$t0")" 'BEGIN { printf "%.0f", ms / 1000 }')
[ "$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.daily'::regclass")" = 10000 ] ||
	die "daily does not have 10,000 partitions"
t0=$(now)
api PUT /v1/tables/public.daily "$ADMIN" '{"partition_column":"date","interval":"day","premake":3}' >"$WORK/daily-put.json"
PUT_10K_MS=$(ms_since "$t0")
jq -e '[.alerts[].code] | index("partitions_missing") == null' "$WORK/daily-put.json" >/dev/null ||
	die "daily is missing coming partitions: $(jq -c .alerts "$WORK/daily-put.json")"
: >"$WORK/get10k"
for _ in 1 2 3 4 5; do
	# Past the partition-list cache age (PARTD_PARTITIONS_CACHE_MS, 1 s):
	# every GET here reads the catalog.
	sleep 1.2
	out=$(curl -s -o "$WORK/daily.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $READ" \
		"http://127.0.0.1:$PORT/v1/tables/public.daily/partitions")
	[ "${out%% *}" = 200 ] || die "GET daily partitions: HTTP ${out%% *}: $(head -c 400 "$WORK/daily.json")"
	awk -v s="${out#* }" 'BEGIN { printf "%.0f\n", s * 1000 }' >>"$WORK/get10k"
done
[ "$(jq '.partitions | length' "$WORK/daily.json")" = 10000 ] || die "GET daily partitions did not list 10,000"
GET10K_MED=$(median <"$WORK/get10k")
GET10K_MAX=$(sort -g "$WORK/get10k" | tail -1)
GET10K_ALL=$(paste -sd, "$WORK/get10k" | sed 's/,/, /g')
RESP_MB=$(awk -v b="$(stat -c %s "$WORK/daily.json")" 'BEGIN { printf "%.1f", b / 1048576 }')
stop_partd

# The catalog query alone, on one connection: the first (cold) run, then the
# median of three; and how many locks it holds inside a transaction.
DAILY_OID=$(q -c "SELECT 'public.daily'::regclass::oid")
sed "s/\\\$1/$DAILY_OID/g" sql/partitions_list.sql >"$WORK/query10k.sql"
{
	printf '%s\n' '\timing on' '\o /dev/null'
	for _ in 1 2 3 4; do cat "$WORK/query10k.sql"; done
	printf '%s\n' '\o' '\timing off' 'BEGIN;' '\o /dev/null'
	cat "$WORK/query10k.sql"
	printf '%s\n' '\o' 'SELECT count(*) AS locks FROM pg_locks WHERE pid = pg_backend_pid();' 'COMMIT;'
} >"$WORK/q10k-timed.sql"
q -f "$WORK/q10k-timed.sql" >"$WORK/q10k.out"
grep -o 'Time: [0-9.]*' "$WORK/q10k.out" | awk '{ printf "%.0f\n", $2 }' >"$WORK/q10k-times"
SQL10K_COLD=$(head -1 "$WORK/q10k-times")
SQL10K_WARM=$(tail -n +2 "$WORK/q10k-times" | median)
LOCKS_10K=$(grep -E '^[0-9]+$' "$WORK/q10k.out" | tail -1)
MAX_LOCKS=$(q -c "SHOW max_locks_per_transaction")
note "10k: median $GET10K_MED ms, max $GET10K_MAX ms ($GET10K_ALL); query alone cold $SQL10K_COLD ms, warm $SQL10K_WARM ms"

# ---- results ---------------------------------------------------------------
{
	echo
	echo "## Partitions: $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	echo
	echo "\`bench/partitions.sh\`; partd $REV and PostgreSQL 15 (--fast: fsync off) on the same machine;"
	echo "load average at the start $LOAD. partd: pool 16, 2 workers. Today's month: ${MONTH0:0:7}."
	echo
	echo "| measure | partd | reference | figure | goal | result |"
	echo "|---|---|---|---|---|---|"
	echo "| premake 36 months on 10 tables (partitions made: partd $PA_PARTS, pg_partman $PM_PARTS; last bound ${LAST_BOUND}) | $PARTD_MS ms, first POST to last job succeeded (jobs ran $(cut -d'|' -f1 <<<"$JOB_SPAN") ms, mean job $(cut -d'|' -f2 <<<"$JOB_SPAN") ms) | pg_partman 4.7 create_parent x10 + run_maintenance_proc: $PARTMAN_MS ms | ratio $PREMAKE_RATIO | ≤ 1.0 | $(verdict "$PREMAKE_RATIO" '<=' 1.0) |"
	echo "| scheduler pass, 10 tables, nothing to do | median of $PASS_N: $PASS_MED ms ($PASS_ALL) | | $PASS_MED ms | ≤ 20 ms | $(verdict "$PASS_MED" '<=' 20) |"
	echo "| \`GET /v1/tables/public.big/partitions\`, 120 partitions, wrk 2 threads 32 connections 10 s | $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms${WRK_ERRS:+, $WRK_ERRS} | pgbench -c 32 -j 2 -T 10, sql/partitions_list.sql: $PGB_TPS tps, latency average $PGB_LAT ms | ratio $RPS_RATIO | ≥ 1.0 | $(verdict "$RPS_RATIO" '>=' 1.0) |"
	echo "| same, partd p99 | $WRK_P99 ms | | $WRK_P99 ms | ≤ 20 ms | $(verdict "$WRK_P99" '<=' 20) |"
	echo "| \`GET /v1/tables/public.daily/partitions\`, 10,000 daily partitions, 5 sequential curl | median $GET10K_MED ms, max $GET10K_MAX ms ($GET10K_ALL); ${RESP_MB} MB | the catalog query alone in psql: first run $SQL10K_COLD ms, then $SQL10K_WARM ms | $GET10K_MED ms | ≤ 200 ms | $(verdict "$GET10K_MED" '<=' 200) |"
	echo
	echo "10,000-partition table: made in $MAKE_10K_S s (DO block, COMMIT every 500) with max_locks_per_transaction $MAX_LOCKS;"
	echo "the catalog query holds $LOCKS_10K locks inside a transaction; its PUT (registration, full status) took $PUT_10K_MS ms."
} | tee -a "$RESULTS"
