# Tiered retention: policy checks, dry run = real run, keyed rollups that a
# rerun leaves alone, verified archives, an unwritable and a full archive,
# one failing partition among others, restore row for row, kill -9 mid-run,
# and the scheduler's daily run.
#
# mk_ret NAME [default]: a seed-shaped table partitioned by month with 15
# months of rows up to today (20 accounts a day; some NULL account ids, to
# exercise NULL group keys; a note with a newline, a comma and quotes, to
# exercise CSV), plus the coming months; its rows are copied to NAME_orig.
mk_ret() {
	local t=$1 def=${2:-}
	psql_q "CREATE TABLE public.$t (
	            id text NOT NULL, workspace_id text NOT NULL, social_account_id text,
	            date date NOT NULL, followers int DEFAULT 0, impressions int DEFAULT 0,
	            engagement_rate float DEFAULT 0, note text, PRIMARY KEY (id, date)
	        ) PARTITION BY RANGE (date);
	        DO \$\$ DECLARE m date; BEGIN
	          FOR i IN 0..18 LOOP
	            m := (date_trunc('month', current_date) - interval '15 months' + i * interval '1 month')::date;
	            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.$t FOR VALUES FROM (%L) TO (%L)',
	                           '${t}_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
	          END LOOP;
	        END \$\$;
	        INSERT INTO public.$t
	        SELECT 'r' || a || '_' || d::date, 'ws' || (a % 3), CASE WHEN a % 7 = 0 THEN NULL ELSE 'acct' || a END,
	               d::date, 1000 + a * 10 + (extract(doy FROM d)::int % 50),
	               (a * 37 + extract(doy FROM d)::int * 11) % 5000,
	               ((a * 13 + extract(day FROM d)::int) % 100) / 1000.0 + 0.0001,
	               CASE WHEN a = 3 THEN E'multi\nline, \"quoted\"' END
	          FROM generate_series(date_trunc('month', current_date) - interval '15 months', current_date, interval '1 day') d,
	               generate_series(1, 20) a;
	        CREATE TABLE public.${t}_orig AS SELECT * FROM public.$t;" >/dev/null
	[ -n "$def" ] && psql_q "CREATE TABLE public.${t}_default PARTITION OF public.$t DEFAULT" >/dev/null
	return 0
}
policy() { # TABLE ARCHIVE_URL [extra retention members]
	printf '{"partition_column":"date","retention":{"hot":"3 months","warm":"12 months","group_by":["workspace_id","social_account_id"],"metrics":[{"column":"impressions","fn":"sum"},{"column":"followers","fn":"max","as":"followers_max"},{"column":"engagement_rate","fn":"avg"},{"column":"followers","fn":"last","as":"followers_last"},{"column":"note","fn":"count","as":"notes"}],"archive":"%s","archive_raw":true%s}}' "$2" "${3:-}"
}
# exactly_once TABLE: months that are not exactly one of raw rows (hot),
# daily rollup rows (warm), monthly rollup rows plus a verified archive
# (cold), each holding every original row once; prints the offenders.
exactly_once() {
	local t=$1
	psql_q "WITH m AS (
	          SELECT date_trunc('month', date)::date AS month, count(*) AS n FROM public.${t}_orig GROUP BY 1),
	        raw AS (SELECT date_trunc('month', date)::date AS month, count(*) AS n FROM public.$t GROUP BY 1),
	        d AS (SELECT date_trunc('month', date)::date AS month, sum(rows) AS n FROM public.${t}_daily GROUP BY 1),
	        mo AS (SELECT date AS month, sum(rows) AS n FROM public.${t}_monthly GROUP BY 1),
	        a AS (SELECT range_from AS month, rows AS n FROM partd.archives
	               WHERE table_name = '$t' AND verified_at IS NOT NULL),
	        tier AS (SELECT m.*, CASE WHEN m.month + interval '1 month' > current_date - interval '3 months' THEN 'hot'
	                                 WHEN m.month + interval '1 month' > current_date - interval '12 months' THEN 'warm'
	                                 ELSE 'cold' END AS tier FROM m)
	        SELECT string_agg(to_char(tier.month, 'YYYY-MM') || ':' || tier || ' raw=' || coalesce(raw.n, 0) ||
	                          ' daily=' || coalesce(d.n, 0) || ' monthly=' || coalesce(mo.n, 0) ||
	                          ' archive=' || coalesce(a.n, 0) || ' of ' || tier.n, '; ')
	          FROM tier LEFT JOIN raw USING (month) LEFT JOIN d USING (month) LEFT JOIN mo USING (month)
	               LEFT JOIN a USING (month)
	         WHERE NOT CASE tier
	                   WHEN 'hot' THEN raw.n = tier.n AND d.n IS NULL AND mo.n IS NULL
	                   WHEN 'warm' THEN raw.n IS NULL AND d.n = tier.n AND mo.n IS NULL AND a.n = tier.n
	                   ELSE raw.n IS NULL AND d.n IS NULL AND mo.n = tier.n AND a.n = tier.n END"
}
rollup_digest() { # TABLE: every rollup row, in one hash
	psql_q "SELECT md5(coalesce((SELECT string_agg(x::text, '|' ORDER BY x::text) FROM public.$1_daily x), '') ||
	                   coalesce((SELECT string_agg(y::text, '|' ORDER BY y::text) FROM public.$1_monthly y), ''))"
}
nparts() { psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.$1'::regclass"; }

start_partd ret PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_PARTITIONS_CACHE_MS=0 || return
P=$PORT_ret
mk_ret ret
ARCH="$WORK/archive"

# --- policy checks: 400 naming the field, nothing stored -----------------------------
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"hot":"12 months","warm":"3 months"}}'
check "warm shorter than hot 400" "400 retention.warm" "$STATUS $(jqr '.errors[0].field')"
check_match "the 400 says it would drop hot data" 'drop hot data' "$(jqr .detail)"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"hot":"0 days"}}'
check "a hot window of 0 400" "400 retention.hot" "$STATUS $(jqr '.errors[0].field')"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"metrics":[{"column":"impressions","fn":"median"}]}}'
check "fn outside the list 400" "400 retention.metrics" "$STATUS $(jqr '.errors[0].field')"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"metrics":[{"column":"impressions; drop table x","fn":"sum"}]}}'
check "free SQL as a column 400" "400 retention.metrics" "$STATUS $(jqr '.errors[0].field')"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"group_by":["nope"]}}'
check "unknown group_by column 400" "400 retention.group_by" "$STATUS $(jqr '.errors[0].field')"
psql_q "CREATE TABLE public.retj (date date NOT NULL, meta json, v int) PARTITION BY RANGE (date);
        CREATE TABLE public.retj_all PARTITION OF public.retj FOR VALUES FROM ('2000-01-01') TO ('2100-01-01')" >/dev/null
api "$P" PUT /v1/tables/retj "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"group_by":["meta"],"metrics":[{"column":"v","fn":"sum"}]}}'
check "a group_by column of a type with no equality (json) 400" "400 retention.group_by" "$STATUS $(jqr '.errors[0].field')"
check_match "the 400 names the column and its type" 'meta is json' "$(jqr .detail)"
check "retj's bad policy was not stored" 0 "$(psql_q "SELECT count(*) FROM partd.managed_tables WHERE table_name = 'retj'")"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"metrics":[{"column":"note","fn":"sum"}]}}'
check "sum of a text column 400" "400 retention.metrics" "$STATUS $(jqr '.errors[0].field')"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"archive":"s3://bucket/x"}}'
check "an s3:// archive 400" "400 retention.archive" "$STATUS $(jqr '.errors[0].field')"
check_match "the 400 says only file:// is supported" 'only file://' "$(jqr .detail)"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"archive_raw":true}}'
check "archive_raw without archive 400" "400 retention.archive_raw" "$STATUS $(jqr '.errors[0].field')"
check "no bad policy was stored" 0 "$(psql_q "SELECT count(*) FROM partd.managed_tables WHERE table_name = 'ret'")"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" '{"partition_column":"date"}'
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{"dry_run":true}'
check "retention without a retention policy 409" 409 "$STATUS"

# --- an unwritable archive directory: the job fails, nothing is dropped -------------
: >"$WORK/afile"
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" "$(policy ret "file://$WORK/afile/sub")"
check "policy with retention 200" 200 "$STATUS"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{"dry_run":"yes"}'
check "dry_run not a boolean 400" "400 dry_run" "$STATUS $(jqr '.errors[0].field')"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{"force":true}'
check "unknown body field 400" "400 force" "$STATUS $(jqr '.errors[0].field')"
parts_before=$(nparts ret)
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
check "retention 202" 202 "$STATUS"
J=$(jqr .id)
wait_job "$P" "$J" failed 30 || fail "the job with an unwritable archive fails" "$BODY"
check_match "its error names the directory" "afile/sub" "$(jqr .error.detail)"
check "nothing was dropped" "$parts_before" "$(nparts ret)"
check "no rollup table was made" "" "$(psql_q "SELECT to_regclass('public.ret_daily')")"

# --- dry run, then the real run carries out exactly that plan -----------------------------
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" "$(policy ret "file://$ARCH")"
before=$(psql_q "SELECT count(*) FROM pg_class")
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{"dry_run":true}'
check "dry run 200" 200 "$STATUS"
printf '%s' "$BODY" >"$WORK/ret_plan.json"
check "a dry run changes nothing" "$before" "$(psql_q "SELECT count(*) FROM pg_class")"
check "the plan drops the 12 months past the hot window" 12 "$(jqr '[.partitions[] | select(.action == "drop")] | length')"
check "the plan keeps the hot and coming months" 7 "$(jqr '[.partitions[] | select(.action == "keep")] | length')"
check "3 cold months are rolled up per month and archived" 3 "$(jqr '[.partitions[] | select(.tier == "cold" and (.steps | index("rollup_monthly")) and (.steps | index("archive")))] | length')"
check "every drop says why" true "$(jqr '[.partitions[] | select(.action == "drop") | .why | test("verified")] | all')"
check "no partition inside the hot window is dropped" 0 "$(printf '%s' "$BODY" | jq --arg c "$(jqr .cutoffs.hot)" '[.partitions[] | select(.action == "drop" and .to > $c)] | length')"
check "the plan counts the rows it retires" "$(psql_q "SELECT count(*) FROM public.ret_orig WHERE date < date_trunc('month', current_date) - interval '3 months'")" "$(jqr .rows_retired)"
check "the plan prices the tiers" "0.125 0.1 0.023" "$(jqr '[.storage.cost_per_gb_month.hot, .storage.cost_per_gb_month.warm, .storage.cost_per_gb_month.cold] | join(" ")')"
check "the plan projects the hot-storage reduction beside the seed's 60%" "true 60" "$(jqr '.storage.hot_reduction_percent > 50') $(jqr .storage.seed_claim_hot_reduction_percent)"
# One partition cannot be archived (the disk is full for it): it keeps its
# rows and the others go on.
mkdir -p "$ARCH"
full=$(jqr '[.partitions[] | select(.tier == "warm" and .action == "drop")][2].partition')
ln -s /dev/full "$ARCH/public.$full.csv.gz.tmp"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" failed 60 || fail "a job with one failing partition fails" "$BODY"
api "$P" GET "/v1/jobs/$J" "$READ_TOKEN"
check "the job's outcomes are the plan's actions, partition by partition" \
	"$(jq -c '[.partitions[] | [.partition, .action]]' "$WORK/ret_plan.json")" \
	"$(printf '%s' "$BODY" | jq -c '[.result.outcomes[] | [.partition, .action]]')"
check "one partition failed, at its archive" "1 archive" "$(jqr '[.result.outcomes[] | select(.ok | not)] | length') $(jqr "[.result.outcomes[] | select(.ok | not)][0].failed_step")"
check_match "the failure says the disk is full" 'No space left on device' "$(jqr "[.result.outcomes[] | select(.ok | not)][0].error")"
check "the others were dropped" 11 "$(jqr .result.summary.dropped)"
check "the failed partition keeps every row" \
	"$(psql_q "SELECT count(*) FROM public.ret_orig WHERE to_char(date, 'YYYY_MM') = right('$full', 7)")" \
	"$(psql_q "SELECT count(*) FROM public.$full")"
check "it is still attached" t "$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$full'::regclass")"
rm -f "$ARCH/public.$full.csv.gz.tmp"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" succeeded 60 || fail "the rerun succeeds" "$BODY"
check "the rerun retires the one left" "1 $full" "$(jqr .result.summary.dropped) $(jqr '[.result.outcomes[] | select(.action == "drop")][0].partition')"
check "every month exists exactly once as raw, rollup or archive" "" "$(exactly_once ret)"
check "DETACH CONCURRENTLY without a default partition" "DETACH CONCURRENTLY" "$(jqr '[.result.outcomes[] | select(.action == "drop")][0].detach')"
hot_before=$(jq .storage.bytes_before.hot "$WORK/ret_plan.json")
check "the hot storage shrank by more than half, measured" true "$(jqr "(($hot_before - .result.storage_after.hot) * 100 / $hot_before) > 50")"
# Rollups hold what the raw rows said: sums, max, avg kept as sum and count.
check "monthly rollup totals equal the raw rows of cold months" "" "$(psql_q "
	SELECT string_agg(o.month::text, ',') FROM (
	  SELECT date_trunc('month', date)::date AS month, workspace_id, social_account_id, count(*) AS n,
	         sum(impressions) AS imp, max(followers) AS fmax, avg(engagement_rate) AS er, count(note) AS notes
	    FROM public.ret_orig WHERE date < date_trunc('month', current_date) - interval '12 months' GROUP BY 1, 2, 3) o
	  LEFT JOIN public.ret_monthly m ON m.date = o.month AND m.workspace_id = o.workspace_id
	       AND m.social_account_id IS NOT DISTINCT FROM o.social_account_id
	 WHERE m.rows IS DISTINCT FROM o.n OR m.impressions IS DISTINCT FROM o.imp
	    OR m.followers_max IS DISTINCT FROM o.fmax OR m.notes IS DISTINCT FROM o.notes
	    OR abs(m.engagement_rate_sum / m.engagement_rate_count - o.er) > 1e-12")"
check "NULL account ids make one group per day, not one per row" \
	"$(psql_q "SELECT count(DISTINCT (date, workspace_id)) FROM public.ret_orig WHERE social_account_id IS NULL AND date >= date_trunc('month', current_date) - interval '12 months' AND date < date_trunc('month', current_date) - interval '3 months'")" \
	"$(psql_q "SELECT count(*) FROM public.ret_daily WHERE social_account_id IS NULL")"
check "the rollup tables are managed tables" 2 "$(psql_q "SELECT count(*) FROM partd.managed_tables WHERE table_name IN ('ret_daily', 'ret_monthly')")"
api "$P" GET /v1/tables/ret/archives "$READ_TOKEN"
check "12 verified archives listed" "12 true" "$(jqr '.archives | length') $(jqr '[.archives[] | .verified_at != null] | all')"
A=$(jqr '.archives[0].id')
afile=$(jqr '.archives[0].file')
check "the archive file holds the rows it says (gunzip | wc)" "$(jqr '.archives[0].sha256')" "$(gunzip -c "$afile" | sha256sum | cut -d' ' -f1)"
check "the manifest names bounds, columns and rows" "$(jqr '.archives[0].rows') 8" "$(jq -r '.rows' "${afile%.csv.gz}.manifest.json") $(jq -r '.columns | length' "${afile%.csv.gz}.manifest.json")"

# --- rerunning changes nothing ---------------------------------------------------------------
digest=$(rollup_digest ret)
narch=$(psql_q "SELECT count(*), max(verified_at) FROM partd.archives WHERE table_name = 'ret'")
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" succeeded 30 || fail "a rerun succeeds" "$BODY"
check "a rerun only keeps" "0 0" "$(jqr .result.summary.dropped) $(jqr .result.summary.rolled_up)"
check "a rerun leaves the rollups as they were" "$digest" "$(rollup_digest ret)"
check "a rerun leaves the archives as they were" "$narch" "$(psql_q "SELECT count(*), max(verified_at) FROM partd.archives WHERE table_name = 'ret'")"
check "still exactly once" "" "$(exactly_once ret)"

# --- a group_by column of an extension's type --------------------------------------------------
# partd's sessions have search_path '', where a bare comparison finds no
# ltree operator: the rollup's keys are compared with the type's own.
mk_ret retx
psql_q "CREATE EXTENSION IF NOT EXISTS ltree;
        ALTER TABLE public.retx ADD COLUMN path ltree;
        UPDATE public.retx SET path = CASE WHEN social_account_id IS NULL THEN NULL
                                           ELSE ('top.' || workspace_id)::ltree END;
        DROP TABLE public.retx_orig; CREATE TABLE public.retx_orig AS SELECT * FROM public.retx" >/dev/null
api "$P" PUT /v1/tables/retx "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"hot":"3 months","warm":"12 months","group_by":["path","social_account_id"],"metrics":[{"column":"impressions","fn":"sum"}],"archive":"file://'"$WORK/archx"'","archive_raw":true}}'
check "a policy grouping by an ltree column is registered" 201 "$STATUS"
api "$P" POST /v1/tables/retx/retention "$OPERATE_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 60 || fail "retention grouping by ltree succeeds" "$(jqr .error.detail)"
check "grouped by ltree: every month exactly once" "" "$(exactly_once retx)"
digest=$(rollup_digest retx)
api "$P" POST /v1/tables/retx/retention "$OPERATE_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "a rerun grouping by ltree succeeds" "$(jqr .error.detail)"
check "grouped by ltree: a rerun leaves the rollups as they were" "$digest" "$(rollup_digest retx)"

# --- restore: row for row --------------------------------------------------------------------
api "$P" POST "/v1/tables/ret/archives/$A/restore" "$OPERATE_TOKEN" '{}'
check "restore needs admin" 403 "$STATUS"
api "$P" POST "/v1/tables/ret/archives/999999/restore" "$ADMIN_TOKEN" '{}'
check "restore of an unknown archive 404" 404 "$STATUS"
api "$P" POST "/v1/tables/ret/archives/abc/restore" "$ADMIN_TOKEN" '{}'
check_match "restore of a malformed archive id: 404 that says what ids look like" '^404 .*positive whole numbers' "$STATUS $(jqr .detail)"
api "$P" POST "/v1/tables/ret/archives/$A/restore" "$ADMIN_TOKEN" '{"into":"x"}'
check "a restore body with a member: 400 naming it" "400 into" "$STATUS $(jqr '.errors[0].field')"
api "$P" POST "/v1/tables/ret/archives/$A/restore" "$ADMIN_TOKEN" '{}'
check "restore 202" 202 "$STATUS"
J=$(jqr .id)
wait_job "$P" "$J" succeeded 30 || fail "the restore succeeds" "$BODY"
api "$P" GET "/v1/jobs/$J" "$READ_TOKEN"
rpart=$(jqr .result.restored_as)
check "the restored month is attached again (its range was free)" true "$(jqr .result.attached)"
month=$(psql_q "SELECT range_from FROM partd.archives WHERE id = $A")
check "the restored month equals the original row for row" 0 "$(psql_q "
	SELECT (SELECT count(*) FROM (SELECT * FROM $rpart EXCEPT ALL SELECT * FROM public.ret_orig WHERE date >= '$month' AND date < '$month'::date + interval '1 month') x) +
	       (SELECT count(*) FROM (SELECT * FROM public.ret_orig WHERE date >= '$month' AND date < '$month'::date + interval '1 month' EXCEPT ALL SELECT * FROM $rpart) y)")"
check "and is read through the parent" "$(psql_q "SELECT count(*) FROM $rpart")" "$(psql_q "SELECT count(*) FROM public.ret WHERE date >= '$month' AND date < '$month'::date + interval '1 month'")"
api "$P" GET /v1/tables/ret/archives "$READ_TOKEN"
check "the archive says where it was restored" "$rpart" "$(jqr ".archives[] | select(.id == $A) | .restored_as")"

# --- metrics changed after the rollups were made: refused, nothing dropped -------------------
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" "$(policy ret "file://$ARCH" ',"costs":{"hot":0.2}' | sed 's/"metrics":\[/"metrics":[{"column":"followers","fn":"min","as":"followers_min"},/')"
check "a policy with one more metric is accepted" 200 "$STATUS"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" failed 30 || fail "retention with a metric the rollups lack fails" "$BODY"
check_match "it names the missing rollup column" 'no column followers_min' "$(printf '%s' "$BODY" | jq -r '[.result.outcomes[] | select(.ok | not) | .error] | join("|")')"
check "the restored month was not dropped" "$(psql_q "SELECT count(*) FROM public.ret_orig WHERE date >= '$month' AND date < '$month'::date + interval '1 month'")" "$(psql_q "SELECT count(*) FROM $rpart")"
# Back to the policy the rollups were made for: the restored month is retired again.
api "$P" PUT /v1/tables/ret "$ADMIN_TOKEN" "$(policy ret "file://$ARCH")"
api "$P" POST /v1/tables/ret/retention "$OPERATE_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" succeeded 30 || fail "the restored month is retired again" "$BODY"
check "one partition retired" 1 "$(jqr .result.summary.dropped)"
check "archived again, the month is no longer recorded as restored" "t" "$(psql_q "SELECT restored_as IS NULL AND restored_at IS NULL FROM partd.archives WHERE id = $A")"
check "every month exactly once after restore and retire again" "" "$(exactly_once ret)"
# A range taken again: the restore stays a standalone <partition>_restored.
psql_q "CREATE TABLE $rpart PARTITION OF public.ret FOR VALUES FROM ('$month') TO ('$month'::date + interval '1 month')" >/dev/null
api "$P" POST "/v1/tables/ret/archives/$A/restore" "$ADMIN_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" succeeded 30 || fail "a restore into a taken range succeeds" "$BODY"
check "it is left standalone as <partition>_restored, and says so" "false ${rpart}_restored" "$(jqr .result.attached) $(jqr .result.restored_as)"
check_match "the result says why" 'has a partition again' "$(jqr .result.why)"
check "the standalone copy equals the original row for row" 0 "$(psql_q "
	SELECT (SELECT count(*) FROM (SELECT * FROM ${rpart}_restored EXCEPT ALL SELECT * FROM public.ret_orig WHERE date >= '$month' AND date < '$month'::date + interval '1 month') x) +
	       (SELECT count(*) FROM (SELECT * FROM public.ret_orig WHERE date >= '$month' AND date < '$month'::date + interval '1 month' EXCEPT ALL SELECT * FROM ${rpart}_restored) y)")"
# The range free again: a rerun attaches that standalone copy, and makes no other.
psql_q "DROP TABLE $rpart" >/dev/null
api "$P" POST "/v1/tables/ret/archives/$A/restore" "$ADMIN_TOKEN" '{}'
J=$(jqr .id)
wait_job "$P" "$J" succeeded 30 || fail "a restore once the range is free again succeeds" "$BODY"
check "it attaches the <partition>_restored copy and makes no other" "true ${rpart}_restored t " \
	"$(jqr .result.attached) $(jqr .result.restored_as) $(psql_q "SELECT relispartition FROM pg_class WHERE oid = '${rpart}_restored'::regclass") $(psql_q "SELECT to_regclass('$rpart')")"
stop_partd "$PID_ret" || fail "partd stops cleanly" "exit $?"

# --- kill -9 mid-run, restart, rerun: every month exactly once ---------------------------------
# A default partition: plain DETACH under lock_timeout. The step delay
# makes the job slow enough to be killed between its steps (400 ms: the
# poll that sees the phase and the kill must fit in it, on a loaded machine).
mk_ret ret2 default
start_partd k1 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_RETENTION_STEP_DELAY_MS=400 || return
api "$PORT_k1" PUT /v1/tables/ret2 "$ADMIN_TOKEN" "$(policy ret2 "file://$WORK/archive2")"
api "$PORT_k1" POST /v1/tables/ret2/retention "$OPERATE_TOKEN" '{}'
K=$(jqr .id)
wait_phase "$PORT_k1" "$K" "*: drop" 2 15 || fail "the job reached that step" "$BODY"
killed_at=$(jqr .phase)
kill -KILL "$PID_k1"
wait "$PID_k1" 2>/dev/null
check_match "killed between the detach and the drop of a partition" ': drop$' "$killed_at"
check "that partition is detached, not dropped, and recorded" 1 "$(psql_q "SELECT count(*) FROM partd.retiring WHERE table_name = 'ret2'")"
start_partd k2 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_RETENTION_STEP_DELAY_MS=30 || return
wait_job "$PORT_k2" "$K" succeeded 90 || fail "the job resumes after kill -9 and succeeds" "$BODY"
api "$PORT_k2" GET "/v1/jobs/$K" "$READ_TOKEN"
check "resumed in attempt 2" 2 "$(jqr .attempt)"
check "plain DETACH with a default partition" true "$(jqr '[.result.outcomes[] | select(.action == "drop") | .detach // "" | test("default partition")] | any')"
check "nothing left detached" 0 "$(psql_q "SELECT count(*) FROM partd.retiring WHERE table_name = 'ret2'")"
# Once more, killed at another point (mid-rollup of another month), then rerun.
psql_q "DELETE FROM partd.archives WHERE table_name = 'ret2'" >/dev/null
psql_q "TRUNCATE public.ret2_daily, public.ret2_monthly" >/dev/null
psql_q "DROP TABLE public.ret2 CASCADE; DROP TABLE public.ret2_orig" >/dev/null
mk_ret ret2 default
api "$PORT_k2" POST /v1/tables/ret2/retention "$OPERATE_TOKEN" '{}'
K=$(jqr .id)
# Wherever the kill lands (the step is only the aim), every month must end exactly once.
wait_phase "$PORT_k2" "$K" "*: verify_monthly" 0 15 || true
kill -KILL "$PID_k2"
wait "$PID_k2" 2>/dev/null
start_partd k3 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
wait_job "$PORT_k3" "$K" succeeded 90 || fail "the job resumes after a second kill -9" "$BODY"
api "$PORT_k3" POST /v1/tables/ret2/retention "$OPERATE_TOKEN" '{}'
wait_job "$PORT_k3" "$(jqr .id)" succeeded 60 || fail "the rerun after the kills succeeds" "$BODY"
check "after kill -9 and rerun, every month exactly once" "" "$(exactly_once ret2)"
stop_partd "$PID_k3" || fail "partd stops cleanly" "exit $?"

# --- a cancel between detach and drop attaches the partition again -----------------------------
# retire_until TABLE NAME STEP [POLICY]: TABLE made, a partd NAME that
# pauses 2 s before each step, retention (by default warm months only, no
# archive: few steps) run until a partition's STEP is next; the job in K,
# that partition in cpart.
retire_until() {
	mk_ret "$1"
	start_partd "$2" PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_RETENTION_STEP_DELAY_MS=2000 || return
	local port_var="PORT_$2" pol='{"partition_column":"date","retention":{"hot":"3 months","warm":"24 months"}}'
	api "${!port_var}" PUT "/v1/tables/$1" "$ADMIN_TOKEN" "${4:-$pol}"
	[[ "$STATUS" == 20[01] ]] || fail "PUT /v1/tables/$1 stores the policy" "$STATUS $BODY"
	api "${!port_var}" POST "/v1/tables/$1/retention" "$OPERATE_TOKEN" '{}'
	K=$(jqr .id)
	wait_phase "${!port_var}" "$K" "*: $3" 0 20 || fail "the job reaches a partition's $3" "$BODY"
	cpart=$(jqr .phase)
	cpart=${cpart%%:*}
}
# A cancel lands within the 2 s pause before the drop.
retire_until ret4 c1 drop || return
api "$PORT_c1" POST "/v1/jobs/$K/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_c1" "$K" cancelled 30 || fail "the retention job is cancelled" "$BODY"
check "the partition detached before the cancel is attached again" t "$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$cpart'::regclass")"
check "and no longer recorded as detached" 0 "$(psql_q "SELECT count(*) FROM partd.retiring WHERE table_name = 'ret4'")"
check "with every row" "$(psql_q "SELECT count(*) FROM public.ret4_orig WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)")" "$(psql_q "SELECT count(*) FROM public.ret4 WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)")"
api "$PORT_c1" GET "/v1/jobs/$K/events" "$READ_TOKEN"
check_match "the events say so" "cancelled: $cpart was detached but not dropped; it is attached again" "$(jqr '[.events[].message] | join("|")')"
stop_partd "$PID_c1" || fail "partd stops cleanly" "exit $?"

# --- a cancel cuts short a step's statement that waits (a lock held by someone) -------------------
# The rollup of the first month waits behind a session's ACCESS EXCLUSIVE
# lock on that month, which it would hold for 30 s; the cancel must end the
# job within 5 s, the month untouched and nothing of its rollup kept.
# cancel_while_locked PORT WHAT [TABLE [CMD...]]: a session takes ACCESS
# EXCLUSIVE on TABLE (default $cpart) for 30 s; CMD, when given, then starts
# the job and sets K; once partd's worker waits for the lock (WHAT: the step,
# for the check's name), job K is cancelled and must be so within 5 s; then
# the session is ended.
cancel_while_locked() {
	local holder rel=${3:-$cpart} tag="holder of ${3:-$cpart} $$"
	psql_q "BEGIN; LOCK TABLE public.$rel IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30) /* $tag */; COMMIT" >/dev/null 2>&1 &
	holder=$!
	held() { psql_q "SELECT count(*) FROM pg_locks WHERE relation = 'public.$rel'::regclass AND mode = 'AccessExclusiveLock' AND granted"; }
	# partd's worker waiting for a lock on rel, not any lock.
	worker_lock_waits() { psql_q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'partd-worker' AND NOT l.granted AND l.relation = 'public.$rel'::regclass"; }
	for _ in $(seq 1 100); do [ "$(held)" = 1 ] && break; sleep 0.05; done
	check "a session holds ACCESS EXCLUSIVE on $rel" 1 "$(held)"
	if [ $# -gt 3 ]; then "${@:4}"; fi
	for _ in $(seq 1 100); do [ "$(worker_lock_waits)" = 1 ] && break; sleep 0.05; done
	check "the $2 of $rel waits for the lock" 1 "$(worker_lock_waits)"
	cancel_timed "$1" "$K" 40
	check "the cancel ended the job within 5 s, not when the lock was let go ($CANCEL_MS ms)" true \
		"$([ "$CANCEL_MS" -lt 5000 ] && echo true || echo false)"
	psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%$tag%' AND pid <> pg_backend_pid()" >/dev/null
	wait "$holder" 2>/dev/null
}
retire_until ret6 c2 rollup_daily || return
cancel_while_locked "$PORT_c2" rollup
check "$cpart still attached with every row; no daily rollup rows of it kept" \
	"t $(psql_q "SELECT count(*) FROM public.ret6_orig WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)") 0" \
	"$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$cpart'::regclass") $(psql_q "SELECT count(*) FROM public.ret6 WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)") $(psql_q "SELECT coalesce(sum(rows), 0) FROM public.ret6_daily WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)")"
api "$PORT_c2" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check_match "the events say the step was cut short, not that it failed" "$cpart: rollup_daily cut short by the job's stop" "$(jqr '[.events[] | select(.level == "info") | .message] | join("|")')"
check "and no partition's failure is recorded" 0 "$(jqr '[.events[] | select(.level == "error")] | length')"
stop_partd "$PID_c2" || fail "partd stops cleanly" "exit $?"

# --- a cancel cuts short an archive being written ------------------------------------------------
# The first cold month's archive (after its rollups) waits behind a
# session's ACCESS EXCLUSIVE lock on the month. The cancel must end the job
# within 5 s, with no archive file, temp file or record left and the month
# attached with every row; a rerun then retires every month exactly once.
# (tests/integration/check_archive_db.c stops a COPY while its rows stream.)
retire_until ret7 c3 archive "$(policy ret7 "file://$WORK/arc7")" || return
cancel_while_locked "$PORT_c3" archive
check "$cpart still attached with every row" \
	"t $(psql_q "SELECT count(*) FROM public.ret7_orig WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)")" \
	"$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$cpart'::regclass") $(psql_q "SELECT count(*) FROM public.ret7 WHERE to_char(date, 'YYYY_MM') = right('$cpart', 7)")"
check "no archive file, temp file or record is left in the (existing) directory" "yes 0 0" \
	"$([ -d "$WORK/arc7" ] && echo yes) $(find "$WORK/arc7" -type f | wc -l) $(psql_q "SELECT count(*) FROM partd.archives WHERE table_name = 'ret7'")"
api "$PORT_c3" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check_match "the events say the archive was cut short, not that it failed" "$cpart: archive cut short by the job's stop" "$(jqr '[.events[] | select(.level == "info") | .message] | join("|")')"
check "and no partition's failure is recorded" 0 "$(jqr '[.events[] | select(.level == "error")] | length')"
stop_partd "$PID_c3" || fail "partd stops cleanly" "exit $?"
start_partd c4 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
api "$PORT_c4" POST /v1/tables/ret7/retention "$OPERATE_TOKEN" '{}'
wait_job "$PORT_c4" "$(jqr .id)" succeeded 90 || fail "the rerun after the cancel succeeds" "$BODY"
check "after the cancel and a rerun, every month exactly once" "" "$(exactly_once ret7)"
stop_partd "$PID_c4" || fail "partd stops cleanly" "exit $?"

# --- a cancel cuts short a restore that waits for the table's lock ------------------------------
# The restore's CREATE TABLE ... LIKE waits behind a session's ACCESS
# EXCLUSIVE lock on the parent (lock_timeout 20 s here). The cancel must end
# the job within 5 s with nothing of the restore kept; then the archive
# restores row for row.
start_partd c5 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_LOCK_TIMEOUT_MS=20000 || return
read -r A7 rpart7 month7 <<<"$(psql_q "SELECT id, partition_name, range_from FROM partd.archives WHERE table_name = 'ret7' ORDER BY range_from LIMIT 1" | tr '|' ' ')"
post_restore() { api "$PORT_c5" POST "/v1/tables/ret7/archives/$A7/restore" "$ADMIN_TOKEN" '{}'; K=$(jqr .id); }
cancel_while_locked "$PORT_c5" restore ret7 post_restore
check "no table of the stopped restore is left; the archive is not marked restored" "  0" \
	"$(psql_q "SELECT to_regclass('public.$rpart7')") $(psql_q "SELECT to_regclass('public.${rpart7}_restored')") $(psql_q "SELECT count(*) FROM partd.archives WHERE id = $A7 AND restored_as IS NOT NULL")"
api "$PORT_c5" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check_match "the events say the restore stopped and kept nothing" "restore stopped \\(making public.$rpart7: .*\\); nothing of it was kept" "$(jqr '[.events[].message] | join("|")')"
post_restore
wait_job "$PORT_c5" "$K" succeeded 30 || fail "the restore after the cancel succeeds" "$BODY"
check "then the archive restores, attached and row for row" "true 0" "$(jqr .result.attached) $(psql_q "
	SELECT (SELECT count(*) FROM (SELECT * FROM public.$rpart7 EXCEPT ALL SELECT * FROM public.ret7_orig WHERE date >= '$month7' AND date < '$month7'::date + interval '1 month') x) +
	       (SELECT count(*) FROM (SELECT * FROM public.ret7_orig WHERE date >= '$month7' AND date < '$month7'::date + interval '1 month' EXCEPT ALL SELECT * FROM public.$rpart7) y)")"
stop_partd "$PID_c5" || fail "partd stops cleanly" "exit $?"

# --- a cancel while a restore's ATTACH is retried: the rows stay, standalone; a rerun attaches ---
# A session holds SHARE on ret7: the restore's CREATE ... LIKE and COPY go
# on, its ATTACH (SHARE UPDATE EXCLUSIVE on the parent) times out (500 ms)
# and is retried; the cancel comes after the first time-out.
start_partd c6 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_LOCK_TIMEOUT_MS=500 || return
read -r A8 rpart8 month8 <<<"$(psql_q "SELECT id, partition_name, range_from FROM partd.archives WHERE table_name = 'ret7' AND restored_as IS NULL ORDER BY range_from LIMIT 1" | tr '|' ' ')"
psql_q "BEGIN; LOCK TABLE public.ret7 IN SHARE MODE; SELECT pg_sleep(30) /* ret7 attach holder */; COMMIT" >/dev/null 2>&1 &
holder=$!
share_held() { psql_q "SELECT count(*) FROM pg_locks WHERE relation = 'public.ret7'::regclass AND mode = 'ShareLock' AND granted"; }
for _ in $(seq 1 100); do [ "$(share_held)" = 1 ] && break; sleep 0.05; done
check "a session holds SHARE on ret7" 1 "$(share_held)"
api "$PORT_c6" POST "/v1/tables/ret7/archives/$A8/restore" "$ADMIN_TOKEN" '{}'
K=$(jqr .id)
attach_retries() { psql_q "SELECT count(*) FROM partd.job_events WHERE job_id = $K AND message LIKE 'attach restored partition: lock_timeout%'"; }
for _ in $(seq 1 200); do [ "$(attach_retries)" -ge 1 ] && break; sleep 0.05; done
check "the restore's ATTACH waits out lock_timeout and is retried" true "$([ "$(attach_retries)" -ge 1 ] && echo true || echo false)"
cancel_timed "$PORT_c6" "$K" 20
check "the cancel ended the job within 5 s, not when the lock was let go ($CANCEL_MS ms)" true \
	"$([ "$CANCEL_MS" -lt 5000 ] && echo true || echo false)"
psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%ret7 attach holder%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null
check "the restored rows stay in a standalone table, every one, and the archive says where" "f 0 public.$rpart8" \
	"$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart8'::regclass") $(psql_q "
	SELECT (SELECT count(*) FROM (SELECT * FROM public.$rpart8 EXCEPT ALL SELECT * FROM public.ret7_orig WHERE date >= '$month8' AND date < '$month8'::date + interval '1 month') x) +
	       (SELECT count(*) FROM (SELECT * FROM public.ret7_orig WHERE date >= '$month8' AND date < '$month8'::date + interval '1 month' EXCEPT ALL SELECT * FROM public.$rpart8) y)") $(psql_q "SELECT restored_as FROM partd.archives WHERE id = $A8")"
api "$PORT_c6" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check_match "the events say the restore stopped before its ATTACH and how to finish it" \
	"restore stopped before its ATTACH \\(.*\\); the rows are in the standalone table public.$rpart8, checked, and a rerun of the restore of archive $A8 attaches it" \
	"$(jqr '[.events[].message] | join("|")')"
api "$PORT_c6" POST "/v1/tables/ret7/archives/$A8/restore" "$ADMIN_TOKEN" '{}'
wait_job "$PORT_c6" "$(jqr .id)" succeeded 30 || fail "the rerun of the restore succeeds" "$BODY"
check "the rerun attaches the table the stopped one left" "true public.$rpart8 t" \
	"$(jqr .result.attached) $(jqr .result.restored_as) $(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart8'::regclass")"
# restore_a8 STATE: restores archive A8 again on c6, until the job is STATE.
restore_a8() {
	api "$PORT_c6" POST "/v1/tables/ret7/archives/$A8/restore" "$ADMIN_TOKEN" '{}'
	K=$(jqr .id)
	wait_job "$PORT_c6" "$K" "$1" 30 || fail "the restore of archive $A8 ends $1" "$BODY"
}
restore_a8 succeeded
r8="$(jqr .result.attached) $(jqr .result.restored_as)"
api "$PORT_c6" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check "restored and attached already: nothing to do, no second copy" "true public.$rpart8  1" \
	"$r8 $(psql_q "SELECT to_regclass('public.${rpart8}_restored')") $(jqr "[.events[].message | select(test(\"was restored into public.$rpart8, which is attached: nothing to do\"))] | length")"
# Detached by hand (it keeps partd's bounds constraint): read back, still the archive, attached again.
psql_q "ALTER TABLE public.ret7 DETACH PARTITION public.$rpart8" >/dev/null
check "detached by hand" f "$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart8'::regclass")"
restore_a8 succeeded
check "a detached restore that still reads as the archive is attached again" "true t" \
	"$(jqr .result.attached) $(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart8'::regclass")"
# Detached and changed: refused, and left as it is.
psql_q "ALTER TABLE public.ret7 DETACH PARTITION public.$rpart8;
        UPDATE public.$rpart8 SET impressions = impressions + 1 WHERE ctid = (SELECT min(ctid) FROM public.$rpart8)" >/dev/null
restore_a8 failed
check_match "a standalone restore that changed is refused, with what to do" \
	"public.$rpart8, a standalone table archive $A8 was restored into, no longer reads as the archive .*; drop or rename it, then restore again" "$(jqr .error.detail)"
check "and is left standalone" f "$(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart8'::regclass")"

# --- the connection lost while a restore's ATTACH is retried: the job is retried, and attaches ---
# The same SHARE lock; once the ATTACH has timed out, the worker's backend is
# terminated. The restored rows are committed and checked by then, so the
# attempt must fail for a retry (not for good), and the retry, with the lock
# gone, must read the standalone table back and attach it: no second copy.
read -r A9 rpart9 month9 <<<"$(psql_q "SELECT id, partition_name, range_from FROM partd.archives WHERE table_name = 'ret7' AND restored_as IS NULL ORDER BY range_from LIMIT 1" | tr '|' ' ')"
check "an archive of ret7 not restored yet" true "$([ -n "$A9" ] && echo true || echo false)"
psql_q "BEGIN; LOCK TABLE public.ret7 IN SHARE MODE; SELECT pg_sleep(30) /* ret7 attach holder */; COMMIT" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do [ "$(share_held)" = 1 ] && break; sleep 0.05; done
check "a session holds SHARE on ret7 again" 1 "$(share_held)"
api "$PORT_c6" POST "/v1/tables/ret7/archives/$A9/restore" "$ADMIN_TOKEN" '{}'
K=$(jqr .id)
for _ in $(seq 1 200); do [ "$(attach_retries)" -ge 1 ] && break; sleep 0.05; done
check "the restore's ATTACH waits out lock_timeout" true "$([ "$(attach_retries)" -ge 1 ] && echo true || echo false)"
check "the worker's backend is terminated" 1 \
	"$(psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'partd-worker' AND pid <> pg_backend_pid()")"
first_error() { psql_q "SELECT message FROM partd.job_events WHERE job_id = $K AND level = 'error' ORDER BY id LIMIT 1"; }
for _ in $(seq 1 200); do [ -n "$(first_error)" ] && break; sleep 0.05; done
check_match "the attempt fails for a retry, and says the rows are in the table, checked" \
	"^attempt 1 failed: ATTACH of public\\.$rpart9: .*; the rows are in it, checked; retrying in [0-9]+ s$" "$(first_error)"
psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%ret7 attach holder%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null
wait_job "$PORT_c6" "$K" succeeded 30 || fail "the retried restore succeeds" "$BODY"
check "the retry attaches the table the lost attempt left, every row" "2 true public.$rpart9 t  0" \
	"$(jqr .attempt) $(jqr .result.attached) $(jqr .result.restored_as) $(psql_q "SELECT relispartition FROM pg_class WHERE oid = 'public.$rpart9'::regclass") $(psql_q "SELECT to_regclass('public.${rpart9}_restored')") $(psql_q "
	SELECT (SELECT count(*) FROM (SELECT * FROM public.$rpart9 EXCEPT ALL SELECT * FROM public.ret7_orig WHERE date >= '$month9' AND date < '$month9'::date + interval '1 month') x) +
	       (SELECT count(*) FROM (SELECT * FROM public.ret7_orig WHERE date >= '$month9' AND date < '$month9'::date + interval '1 month' EXCEPT ALL SELECT * FROM public.$rpart9) y)")"
stop_partd "$PID_c6" || fail "partd stops cleanly" "exit $?"

# --- a DETACH CONCURRENTLY that meets a lock waits, retries and says who held it ------------------
mk_ret ret5
start_partd lk PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_LOCK_TIMEOUT_MS=200 || return
api "$PORT_lk" PUT /v1/tables/ret5 "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"hot":"3 months","warm":"24 months"}}'
# SHARE on the parent lets the rollups read and write, and conflicts with
# the SHARE UPDATE EXCLUSIVE lock that DETACH CONCURRENTLY takes on it.
psql_q "BEGIN; LOCK TABLE public.ret5 IN SHARE MODE; SELECT pg_sleep(4) /* ret5 holder */; COMMIT" >/dev/null &
holder=$!
for i in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_locks WHERE relation = 'public.ret5'::regclass AND mode = 'ShareLock' AND granted")" = 1 ] && break
	sleep 0.05
done
api "$PORT_lk" POST /v1/tables/ret5/retention "$OPERATE_TOKEN" '{}'
K=$(jqr .id)
wait_job "$PORT_lk" "$K" succeeded 60 || fail "the retention job waits out the lock and succeeds" "$BODY"
wait "$holder"
api "$PORT_lk" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check_match "a retry's event names the statement and the time-out" 'detach partition: lock_timeout \(200 ms\) reached in attempt 1 of' "$(jqr '[.events[].message] | join("|")')"
check_match "and who held the lock" 'ret5 holder' "$(jqr '[.events[].data.lock_holders[]?.query] | join("|")')"
check "every row still there once, raw or in the daily rollup" "$(psql_q "SELECT count(*) FROM public.ret5_orig")" \
	"$(psql_q "SELECT (SELECT count(*) FROM public.ret5) + (SELECT coalesce(sum(rows), 0) FROM public.ret5_daily)")"
stop_partd "$PID_lk" || fail "partd stops cleanly" "exit $?"

# --- the scheduler runs retention daily at its hour ----------------------------------------------
mk_ret ret3
start_partd sch PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=1 PARTD_RETENTION_HOUR=$((10#$(date -u +%H))) || return
api "$PORT_sch" PUT /v1/tables/ret3 "$ADMIN_TOKEN" '{"partition_column":"date","retention":{"hot":"3 months","warm":"12 months"}}'
for i in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM partd.jobs WHERE kind = 'retention.run' AND table_name = 'public.ret3'")" -ge 1 ] && break
	sleep 0.2
done
check "the scheduler enqueued retention.run in the retention hour" "1 scheduler" "$(psql_q "SELECT count(*), min(created_by) FROM partd.jobs WHERE kind = 'retention.run' AND table_name = 'public.ret3'" | tr '|' ' ')"
sleep 3
check "once a day, not once a pass" 1 "$(psql_q "SELECT count(*) FROM partd.jobs WHERE kind = 'retention.run' AND table_name = 'public.ret3'")"
stop_partd "$PID_sch" || fail "partd stops cleanly" "exit $?"
