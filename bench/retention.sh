#!/usr/bin/env bash
# bench/retention.sh: partd's tiered retention (service/retention.c) against
# references, each figure a ratio measured within ONE run on one throwaway
# PostgreSQL 15; appends the figures, goals and pass/fail, with the machine
# and the date, to bench/RESULTS.md. Run on demand, never in CI. Takes a few
# minutes on 2 cores, most of it loading the data.
#
#   bench/retention.sh
#   ACCOUNTS=500 MONTH_MIN=15000 RESULTS=/tmp/smoke.md bench/retention.sh
#                                              (a smoke run: smaller months)
#   BENCH_DIR=/mnt/pgdata bench/retention.sh   (the cluster on that volume;
#                                               default /tmp)
#
# Data: the seed's platform_analytics columns, ACCOUNTS (5,000) accounts x
# every day from the first day of the month 15 months ago to today, in date
# order: 150k+ rows per month over 16 months. Twice, with the seed's keys
# and indexes (UNIQUE (social_account_id, date), INDEX (workspace_id, date),
# INDEX (social_account_id, date)): `pa`, partitioned by month (with the
# coming 3 months made, PRIMARY KEY (id, date)), and `mono`, the same rows in
# one plain table with PRIMARY KEY (id) (the table as it is today). Both
# VACUUM ANALYZEd.
#
# 1. Retiring one month. partd: PUT /v1/tables/public.pa with the seed's
#    policy (hot 3 months, warm 12 months, the seed's group_by and metrics,
#    archive file://WORK/archive, archive_raw true), then POST
#    .../retention {} runs it all; a month's figure is the job's own step
#    timings (result.outcomes[].step_ms) of detach (DETACH CONCURRENTLY) +
#    drop. Reference, before it: DELETE FROM mono WHERE date in that month,
#    then VACUUM mono, timed. Each is a few ms (partd) or a second at most
#    (the reference) on a virtual machine whose host steals CPU time now
#    and then, so the figure is the median over every warm month of >= 150k
#    rows that partd retires, against the median of the reference over the
#    first three of them (one after another); the oldest month's own pair
#    is reported beside it. Goal: reference median / partd median >= 50.
# 2. Archive throughput, on the same month, before partd runs:
#    psql -c "\copy (SELECT <cols> FROM pa_<month> ORDER BY date, ctid) TO
#    STDOUT WITH (FORMAT csv)" | gzip -1 > file, timed; partd's figure is
#    the archive step's write (COPY TO STDOUT through libpq into zlib level
#    1, temp file, fsync, rename) in rows/s; its read-back verification
#    (gunzip, rows, sha256) is reported beside it. Goal: partd / reference
#    >= 0.8.
# While either side is timed, partd is watched by one GET every WATCH_S (1) s,
# parsed in bash: a poll forking curl and jq every 100 ms took CPU time in
# bursts from the few ms being timed.
# The cluster is durable (FAST=1 makes it --fast), so both sides pay for
# their WAL and commit flushes as they would in production.
# 3. The hot-storage reduction: raw partition bytes (pg_total_relation_size)
#    before and after the run (the plan's projection beside it), against the
#    seed's claim of 60%.
#
# partd runs from a copy of bin/partd taken at the start, with a tokens
# file of lines `<scope> <name> <sha256>`.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_init retention.sh ret
ACCOUNTS=${ACCOUNTS:-5000}
MONTH_MIN=${MONTH_MIN:-150000} # rows a month retired must hold to be timed
RESULTS=${RESULTS:-bench/RESULTS.md}
scripts/deps.sh
make -s bin/partd


cp bin/partd "$WORK/partd"
# Durable by default: a DELETE's cost is mostly WAL (full-page images, the
# commit flush), which --fast (fsync, full_page_writes and synchronous_commit
# off) would hide. FAST=1 for a quick look.
FASTFLAG=()
[ -n "${FAST:-}" ] && FASTFLAG=(--fast)
URL=$("$PGC" start "$WORK/pg" "${FASTFLAG[@]}" 2>"$WORK/pg.err") || { cat "$WORK/pg.err" >&2; exit 1; }
DURABILITY=$([ -n "${FAST:-}" ] && echo "--fast: fsync, full_page_writes, synchronous_commit off" || echo "durable: fsync, full_page_writes and synchronous_commit on, as in production")
q() { PGOPTIONS="-c client_min_messages=warning" psql "$URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

echo "retention.sh: loading $ACCOUNTS accounts x 16 months, twice" >&2
COLS="id text NOT NULL, workspace_id text NOT NULL, social_account_id text NOT NULL, date date NOT NULL,
      followers integer DEFAULT 0, followers_change integer DEFAULT 0, following integer DEFAULT 0,
      impressions integer DEFAULT 0, reach integer DEFAULT 0, engagement_rate double precision DEFAULT 0,
      profile_views integer DEFAULT 0, website_clicks integer DEFAULT 0, email_clicks integer DEFAULT 0,
      platform_metrics jsonb, synced_at timestamp DEFAULT now()"
START="date_trunc('month', current_date) - interval '15 months'"
q "SET max_parallel_workers_per_gather = 0;
   CREATE TABLE public.pa ($COLS, PRIMARY KEY (id, date), UNIQUE (social_account_id, date))
       PARTITION BY RANGE (date);
   DO \$\$ DECLARE m date; BEGIN
     FOR i IN 0..18 LOOP
       m := ($START + i * interval '1 month')::date;
       EXECUTE format('CREATE TABLE public.%I PARTITION OF public.pa FOR VALUES FROM (%L) TO (%L)',
                      'pa_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
     END LOOP;
   END \$\$;
   INSERT INTO public.pa
   SELECT 'c' || md5(a || ':' || d::date), 'ws' || (a % 200), 'acct' || a, d::date,
          1000 + (a * 7 + extract(doy FROM d)::int) % 90000, (a + extract(doy FROM d)::int) % 50 - 25,
          a % 900, (a * 37 + extract(doy FROM d)::int * 11) % 50000, (a * 17) % 40000,
          ((a * 13 + extract(day FROM d)::int) % 1000) / 10000.0, a % 300, a % 70, a % 9,
          '{\"src\":\"bench\"}', d
     FROM generate_series($START, current_date, interval '1 day') d, generate_series(1, $ACCOUNTS) a
    ORDER BY 4;
   CREATE INDEX ON public.pa (workspace_id, date);
   CREATE INDEX ON public.pa (social_account_id, date);
   CREATE TABLE public.mono ($COLS, PRIMARY KEY (id), UNIQUE (social_account_id, date));
   INSERT INTO public.mono SELECT * FROM public.pa ORDER BY date;
   CREATE INDEX ON public.mono (workspace_id, date);
   CREATE INDEX ON public.mono (social_account_id, date);"
q "VACUUM ANALYZE public.pa"
q "VACUUM ANALYZE public.mono"
ROWS=$(q "SELECT count(*) FROM public.pa")

T=bench-$RANDOM$RANDOM
printf 'admin bench %s\n' "$(sha "$T")" >"$WORK/tokens"
PORT=$("$PGC" free-port)
DATABASE_URL=$URL PARTD_TOKENS_FILE=$WORK/tokens PARTD_LISTEN=127.0.0.1:$PORT PARTD_WORKERS=2 \
	PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_POLL_MS=100 "$WORK/partd" >"$WORK/partd.log" 2>&1 &
# shellcheck disable=SC2034 # bench_cleanup stops it
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -s -X "$1" -H "Authorization: Bearer $T" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://127.0.0.1:$PORT$2"; }

POLICY="{\"partition_column\":\"date\",\"interval\":\"month\",\"premake\":3,\"retention\":{\"hot\":\"3 months\",\"warm\":\"12 months\",\"group_by\":[\"workspace_id\",\"social_account_id\"],\"metrics\":[{\"column\":\"impressions\",\"fn\":\"sum\",\"as\":\"impressions\"},{\"column\":\"followers\",\"fn\":\"max\",\"as\":\"followers\"},{\"column\":\"engagement_rate\",\"fn\":\"avg\",\"as\":\"engagement_rate\"}],\"archive\":\"file://$WORK/archive\",\"archive_raw\":true}}"
api PUT /v1/tables/public.pa "$POLICY" >"$WORK/put.json"
[ "$(jq -r .table "$WORK/put.json")" = public.pa ] || die "PUT failed: $(cat "$WORK/put.json")"
api POST /v1/tables/public.pa/retention '{"dry_run":true}' >"$WORK/plan.json"
MONTH=$(jq -r '[.partitions[] | select(.tier == "warm" and .action == "drop")][0].partition' "$WORK/plan.json")
[ -n "$MONTH" ] && [ "$MONTH" != null ] || die "no warm month in the plan: $(head -c 500 "$WORK/plan.json")"
MROWS=$(q "SELECT count(*) FROM public.$MONTH")
HOT_BEFORE=$(q "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'public.pa'::regclass")

# 2. reference archive: \copy | gzip -1 of the same partition (after a
# CHECKPOINT, as partd's run below starts after one)
q "CHECKPOINT"
CSVCOLS=$(q "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.pa'::regclass AND attnum > 0 AND NOT attisdropped")
t0=$(now)
psql "$URL" -XAtq -v ON_ERROR_STOP=1 -c "\\copy (SELECT $CSVCOLS FROM public.$MONTH ORDER BY date, ctid) TO STDOUT WITH (FORMAT csv)" | gzip -1 >"$WORK/ref.csv.gz"
REF_ARCH_MS=$(ms_since "$t0" 1)
REF_ARCH_BYTES=$(stat -c %s "$WORK/ref.csv.gz")

# median: of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# The months the policy retires from the warm tier with >= MONTH_MIN rows each
# (a single retirement is one sample of a few ms on a machine whose host
# steals CPU time: the figure is the median over them, on both sides).
declare -A MROWS_OF
while read -r p n; do MROWS_OF[$p]=$n; done < <(q "SELECT c.relname || ' ' || count(*) FROM public.pa JOIN pg_class c ON c.oid = pa.tableoid GROUP BY c.relname")
BIG=()
for p in $(jq -r '.partitions[] | select(.tier == "warm" and .action == "drop") | .partition' "$WORK/plan.json"); do
	[ "${MROWS_OF[$p]:-0}" -ge "$MONTH_MIN" ] && BIG+=("$p")
done
[ "${#BIG[@]}" -ge 3 ] || die "fewer than 3 warm months of >= $MONTH_MIN rows (ACCOUNTS=$ACCOUNTS): ${BIG[*]}"

# An observer that forks curl and jq every 100 ms takes CPU time in bursts
# from whatever it watches (on 2 cores it moved a 1 ms write's p99 4x in
# bench/migration.sh), and a retirement is a few ms: while anything is
# timed, one GET every WATCH_S s, parsed in bash, on both sides (during the
# reference, of the job list).
WATCH_S=${WATCH_S:-1}
observer() { while :; do api GET "/v1/jobs?limit=1" >/dev/null; sleep "$WATCH_S"; done; }

# 1. reference retirement: DELETE the month from the monolithic table, then
# VACUUM; for the first three such months, one after another
observer &
obs=$!
REF_LIST=()
for p in "${BIG[@]:0:3}"; do
	f=$(jq -r ".partitions[] | select(.partition == \"$p\") | .from" "$WORK/plan.json")
	t=$(jq -r ".partitions[] | select(.partition == \"$p\") | .to" "$WORK/plan.json")
	t0=$(now)
	q "DELETE FROM public.mono WHERE date >= '$f' AND date < '$t'"
	q "VACUUM public.mono"
	REF_LIST+=("$(ms_since "$t0" 1)")
done
kill "$obs"
wait "$obs" 2>/dev/null || true
REF_DEL_MS=${REF_LIST[0]}
REF_MED_MS=$(printf '%s\n' "${REF_LIST[@]}" | median)

# partd: the whole policy, one job
q "CHECKPOINT"
api POST /v1/tables/public.pa/retention '{}' >"$WORK/job.json"
JOB=$(jq -r .id "$WORK/job.json")
st=
deadline=$((${EPOCHREALTIME%.*} + 900))
while ((${EPOCHREALTIME%.*} < deadline)); do
	sleep "$WATCH_S"
	body=$(api GET "/v1/jobs/$JOB")
	[[ $body =~ \"state\":\"([a-z_]+)\" ]] && st=${BASH_REMATCH[1]}
	[ "$st" = succeeded ] && break
	[ "$st" = failed ] || [ "$st" = cancelled ] && die "the retention job $st: $body"
done
[ "$st" = succeeded ] || die "the retention job did not finish"
api GET "/v1/jobs/$JOB" >"$WORK/job.json"
JOB_MS=$(awk -v a="$(date -u -d "$(jq -r .started_at "$WORK/job.json")" +%s.%N)" \
	-v b="$(date -u -d "$(jq -r .finished_at "$WORK/job.json")" +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
O=$(jq -c ".result.outcomes[] | select(.partition == \"$MONTH\")" "$WORK/job.json")
r1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
DETACH_MS=$(r1 "$(jq -r '.step_ms.detach' <<<"$O")")
DROP_MS=$(r1 "$(jq -r '.step_ms.drop' <<<"$O")")
RETIRE_MS=$(awk -v a="$DETACH_MS" -v b="$DROP_MS" 'BEGIN { printf "%.1f", a + b }')
RETIRE_LIST=()
for p in "${BIG[@]}"; do
	RETIRE_LIST+=("$(jq -r ".result.outcomes[] | select(.partition == \"$p\") | .step_ms.detach + .step_ms.drop" "$WORK/job.json" | awk '{ printf "%.1f", $1 }')")
done
RETIRE_MED_MS=$(printf '%s\n' "${RETIRE_LIST[@]}" | median)
RETIRE_RANGE=$(printf '%s\n' "${RETIRE_LIST[@]}" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }')
WRITE_MS=$(r1 "$(jq -r '.archive.write_ms' <<<"$O")")
VERIFY_MS=$(r1 "$(jq -r '.archive.verify_ms' <<<"$O")")
ARCH_BYTES=$(jq -r '.archive.bytes' <<<"$O")
HOT_AFTER=$(q "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'public.pa'::regclass")
WARM_AFTER=$(q "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('public.pa_daily')")
MONTHLY_AFTER=$(q "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('public.pa_monthly')")
COLD_AFTER=$(q "SELECT sum(bytes) FROM partd.archives")
PLAN_RED=$(jq -r '.storage.hot_reduction_percent' "$WORK/plan.json")
DROPPED=$(jq -r '.result.summary.dropped' "$WORK/job.json")

# correctness: each month exactly once (raw, daily rows, monthly rows + archive)
DAILY_ROWS=$(q "SELECT coalesce(sum(rows), 0) FROM public.pa_daily")
MONTHLY_ROWS=$(q "SELECT coalesce(sum(rows), 0) FROM public.pa_monthly")
RAW_ROWS=$(q "SELECT count(*) FROM public.pa")
TOTAL_KEPT=$((DAILY_ROWS + MONTHLY_ROWS + RAW_ROWS))
[ "$TOTAL_KEPT" = "$ROWS" ] || die "rows: $ROWS loaded, $RAW_ROWS raw + $DAILY_ROWS daily + $MONTHLY_ROWS monthly = $TOTAL_KEPT kept"

RATIO_ONE=$(awk -v a="$REF_DEL_MS" -v b="$RETIRE_MS" 'BEGIN { printf "%.1f", a / b }')
RATIO_RETIRE=$(awk -v a="$REF_MED_MS" -v b="$RETIRE_MED_MS" 'BEGIN { printf "%.1f", a / b }')
PARTD_RPS=$(awk -v r="$MROWS" -v ms="$WRITE_MS" 'BEGIN { printf "%.0f", r / (ms / 1000) }')
REF_RPS=$(awk -v r="$MROWS" -v ms="$REF_ARCH_MS" 'BEGIN { printf "%.0f", r / (ms / 1000) }')
RATIO_ARCH=$(awk -v a="$PARTD_RPS" -v b="$REF_RPS" 'BEGIN { printf "%.2f", a / b }')
RED=$(awk -v a="$HOT_BEFORE" -v b="$HOT_AFTER" 'BEGIN { printf "%.1f", 100 * (a - b) / a }')
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }

# Where the cluster's files live: a DROP frees them (truncate(2) at commit),
# and what that costs is the filesystem's.
FS_WHERE=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$WORK" | awk '{ printf "%s (%s, %s)", $1, $2, $3 }') ||
	FS_WHERE="a filesystem findmnt could not name ($WORK)"
CORES=$(nproc)
MEM=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
	echo
	echo "## Retention: $(date -u +%F) on $CORES cores, $MEM, $(uname -sr)"
	echo
	echo "\`bench/retention.sh\`; partd $REV and PostgreSQL 15 ($DURABILITY) on the same machine,"
	echo "its data directory on $FS_WHERE;"
	echo "load average at the start $(cut -d' ' -f1-3 /proc/loadavg). $ROWS rows, $ACCOUNTS accounts a day over 16 months;"
	echo "the month retired: $MONTH ($MROWS rows). The whole policy ran as one job in $(awk -v m="$JOB_MS" 'BEGIN { printf "%.1f", m / 1000 }') s, $DROPPED partitions retired."
	echo
	echo "| measure | partd | reference | figure | goal | result |"
	echo "|---|---|---|---|---|---|"
	echo "| retire one month of ≥ $((MONTH_MIN / 1000))k rows | median of ${#RETIRE_LIST[@]} months: $RETIRE_MED_MS ms (range $RETIRE_RANGE ms); $MONTH ($MROWS rows) alone: detach (CONCURRENTLY) $DETACH_MS ms + drop $DROP_MS ms = $RETIRE_MS ms | \`DELETE … WHERE\` the month + \`VACUUM\` on the monolithic table, median of 3 months: $REF_MED_MS ms ($(IFS=,; echo "${REF_LIST[*]}" | sed 's/,/, /g') ms); $MONTH alone $REF_DEL_MS ms (ratio $RATIO_ONE×) | ratio $RATIO_RETIRE× | ≥ 50× | $(verdict "$RATIO_RETIRE" '>=' 50) |"
	echo "| archive the month (gzip level 1) | $WRITE_MS ms write, $PARTD_RPS rows/s, $(mb "$ARCH_BYTES"); verify (gunzip, rows, sha256) $VERIFY_MS ms | \`psql \\copy … \| gzip -1\`: $REF_ARCH_MS ms, $REF_RPS rows/s, $(mb "$REF_ARCH_BYTES") | ratio $RATIO_ARCH | ≥ 0.8 | $(verdict "$RATIO_ARCH" '>=' 0.8) |"
	echo "| hot storage (raw partitions) after the seed's policy on 15 months | $(mb "$HOT_BEFORE") → $(mb "$HOT_AFTER"): −$RED % (plan projected −$(printf '%.1f' "$PLAN_RED") %) | the seed's claim: −60 % | $RED % | ≥ 60 % | $(verdict "$RED" '>=' 60) |"
	echo
	echo "After: warm (daily rollup) $(mb "$WARM_AFTER"), monthly rollup $(mb "$MONTHLY_AFTER"), cold (archive files) $(mb "${COLD_AFTER:-0}");"
	echo "every loaded row is still there once: $RAW_ROWS raw + $DAILY_ROWS in daily rollup rows + $MONTHLY_ROWS in monthly rollup rows = $ROWS."
} >>"$RESULTS"
tail -14 "$RESULTS"
