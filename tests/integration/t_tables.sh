# Managed tables: policy validation, status and alerts, the partition list
# (checked against pg_partman's), making partitions (default rows moved,
# concurrent writers unharmed), the scheduler, pruning, hostile names.
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
# The cache off: these tests change partitions behind partd's back and look at once.
start_partd tables PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_LOCK_TIMEOUT_MS=1000 \
	PARTD_PARTITIONS_CACHE_MS=0 || return
P=$PORT_tables
wait_ready "$P" || fail "ready"
psql_q "
CREATE TABLE public.mono (id bigint PRIMARY KEY, day date NOT NULL, label text);
CREATE TABLE public.by_list (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE public.ev (id bigint NOT NULL, created date NOT NULL, v int DEFAULT 7, note text)
    PARTITION BY RANGE (created);
CREATE INDEX ON public.ev (created, id);
CREATE TABLE public.ev_default PARTITION OF public.ev DEFAULT;
CREATE TABLE public.canary (x int);" >/dev/null

# --- policy validation -------------------------------------------------
registered=$(psql_q 'SELECT count(*) FROM partd.managed_tables')
put() { api "$P" PUT "/v1/tables/$1" "$ADMIN_TOKEN" "$2"; }
put public.nope '{"partition_column":"d"}'
check "PUT of a table that does not exist 404" 404 "$STATUS"
put public.ev '{"partition_column":"nope"}'
check "missing column 400 names partition_column" "400 partition_column" "$STATUS $(jqr '.errors[0].field')"
put public.ev '{"partition_column":"note"}'
check_match "column of the wrong type 400" 'is text; the partition column must be date' "$(jqr .detail)"
put public.ev '{"partition_column":"created","interval":"week"}'
check "bad interval 400" "400 interval" "$STATUS $(jqr '.errors[0].field')"
put public.ev '{"partition_column":"created","premake":0}'
check "premake 0 400" "400 premake" "$STATUS $(jqr '.errors[0].field')"
put public.ev '{"partition_column":"created","premak":3}'
check "unknown policy field 400" "400 premak" "$STATUS $(jqr '.errors[0].field')"
put public.ev '{"partition_column":"created","retention":{"hot":"soon"}}'
check "bad retention age 400" "400 retention.hot" "$STATUS $(jqr '.errors[0].field')"
put public.ev '{"partition_column":"created","alerts":{"max_partition_bytes":-1}}'
check "bad alert threshold 400" "400 alerts.max_partition_bytes" "$STATUS $(jqr '.errors[0].field')"
put public.by_list '{"partition_column":"id"}'
check_match "a LIST-partitioned table 400" 'partitioned by LIST' "$(jqr .detail)"
check "nothing registered by bad requests" "$registered" "$(psql_q 'SELECT count(*) FROM partd.managed_tables')"

put public.mono '{"partition_column":"day"}'
check "a monolithic table is accepted (201)" 201 "$STATUS"
check "it says partitioned: false and why" "false not_partitioned" "$(jqr '[.partitioned, .alerts[0].code] | map(tostring) | join(" ")')"
check_match "its alert says to migrate" 'POST /v1/tables/public.mono/migration' "$(jqr '.alerts[0].action')"
api "$P" DELETE /v1/tables/mono "$ADMIN_TOKEN"
check "DELETE 204" 204 "$STATUS"
api "$P" GET /v1/tables/mono "$READ_TOKEN"
check "a deleted table is no longer managed (404)" 404 "$STATUS"
check "DELETE touched no data" 1 "$(psql_q "SELECT count(*) FROM pg_class WHERE relname = 'mono'")"
api "$P" DELETE /v1/tables/mono "$ADMIN_TOKEN"
check "DELETE of an unmanaged table 404" 404 "$STATUS"

put ev '{"partition_column":"created","retention":{"hot":"3 months"},"alerts":{"default_rows_max":0}}'
check "register ev (bare name means public) 201" "201 public.ev" "$STATUS $(jqr .table)"
check "policy defaults filled" "month 3" "$(jqr '[.policy.interval, .policy.premake] | map(tostring) | join(" ")')"
check "retention is stored" "3 months" "$(jqr .policy.retention.hot)"
put ev '{"partition_column":"created","premake":4}'
check "PUT again changes the policy (200)" "200 4" "$STATUS $(jqr .policy.premake)"

# --- status before partitions: current month missing, rows in default ---
psql_q "INSERT INTO public.ev SELECT g, current_date + (g % 150), g FROM generate_series(1, 3000) g" >/dev/null
api "$P" GET /v1/tables/ev "$READ_TOKEN"
check "missing partitions alert (critical: current month)" "partitions_missing critical" \
	"$(jqr '[.alerts[] | select(.code | test("missing"))][0] | [.code, .severity] | join(" ")')"
check "default partition rows counted" 3000 "$(jqr .summary.default_rows)"
check "default rows alert" 1 "$(jqr '[.alerts[] | select(.code == "default_partition_rows")] | length')"
check "runway 0" 0 "$(jqr .summary.runway)"

# --- make partitions while a writer inserts, with rows in the default ----
cat >"$WORK/writer.sql" <<'SQL'
\set d random(0, 200)
\set r random(0, 9999)
INSERT INTO public.ev (id, created, v) VALUES (:client_id * 100000000 + :d * 10000 + :r, current_date + :d, 1);
SQL
before=$(psql_q "SELECT count(*) FROM public.ev")
(cd "$WORK" && "$PGBENCH" -n -c 4 -j 2 -T 8 -l --log-prefix=writer -f writer.sql "$DATABASE_URL" >"$WORK/pgbench.out" 2>&1) &
bench=$!
sleep 1
api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"ahead":7,"batch_rows":500}'
check "POST partitions 202" 202 "$STATUS"
J=$(jqr .id)
check "job kind and params" "partitions.create 7 public.ev" "$(jqr '[.kind, .params.ahead, .params.table] | map(tostring) | join(" ")')"
wait_job "$P" "$J" succeeded 60 || fail "partition job succeeds" "$BODY"
wait "$bench"
processed=$(awk '/number of transactions actually processed/ {print $NF}' "$WORK/pgbench.out" | cut -d/ -f1)
failed=$(awk '/number of failed transactions/ {print $5}' "$WORK/pgbench.out")
check "the writer had no failed inserts" "0" "${failed:-0}"
[ "${processed:-0}" -gt 100 ] && pass "the writer kept writing ($processed inserts)" || fail "writer ran" "$(cat "$WORK/pgbench.out")"
check "no write lost during partition creation" "$((before + processed))" "$(psql_q "SELECT count(*) FROM public.ev")"
maxlat=$(cat "$WORK"/writer.* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { print int(m / 1000) }')
[ "${maxlat:-99999}" -le 1500 ] && pass "no write waited longer than the lock timeout (max ${maxlat} ms)" ||
	fail "write latency bounded by lock_timeout" "max ${maxlat} ms"
api "$P" GET "/v1/jobs/$J" "$READ_TOKEN"
check "8 partitions created (current + 7)" 8 "$(jqr '.result.created | length')"
[ "$(jqr .result.moved_rows)" -ge 3000 ] && pass "rows moved out of the default partition ($(jqr .result.moved_rows))" || fail "default rows moved" "$BODY"
in_default=$(psql_q "SELECT count(*) FROM public.ev_default WHERE created < date_trunc('month', current_date) + interval '8 months'")
check "the default keeps no row of the new ranges" 0 "$in_default"
check "every partition has partd's CHECK" 8 "$(psql_q "SELECT count(*) FROM pg_constraint WHERE conname = 'partd_bounds' AND conrelid::regclass::text LIKE 'ev_2%'")"
check "partitions carry the parent's index" 8 "$(psql_q "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'ev_2%'")"

api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"ahead":7}'
J2=$(jqr .id)
wait_job "$P" "$J2" succeeded 30 || fail "second run succeeds"
check "a second run creates nothing and finds 8 existing" "0 8" "$(jqr '[(.result.created | length), (.result.existing | length)] | map(tostring) | join(" ")')"

# A new partition takes the storage parameters of the newest one before it
# (the parent, partitioned, can hold none): a fillfactor kept for HOT
# updates, autovacuum settings, TOAST's.
newest=$(psql_q "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.ev'::regclass AND c.relname ~ '^ev_2' ORDER BY c.relname DESC LIMIT 1")
psql_q "ALTER TABLE public.$newest SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, toast.autovacuum_enabled = false)" >/dev/null
api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"ahead":8}'
J2=$(jqr .id)
wait_job "$P" "$J2" succeeded 30 || fail "ahead 8 succeeds" "$BODY"
made=$(jqr '.result.created[0]')
check "one more partition, after $newest" "1 true" "$(jqr '.result.created | length') $([[ "$made" > "$newest" ]] && echo true)"
check "it has the newest partition's storage parameters" "{autovacuum_vacuum_scale_factor=0.02,fillfactor=80}" \
	"$(psql_q "SELECT reloptions FROM pg_class WHERE oid = 'public.$made'::regclass")"
check "and its TOAST table's" "{autovacuum_enabled=false}" \
	"$(psql_q "SELECT t.reloptions FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = 'public.$made'::regclass")"

# An overlapping partition partd did not make is reported, never clobbered.
far=$(psql_q "SELECT to_char(date_trunc('month', current_date) + interval '20 months', 'YYYY-MM-DD')")
far_mid=$(psql_q "SELECT to_char(date_trunc('month', current_date) + interval '20 months' + interval '10 days', 'YYYY-MM-DD')")
far_end=$(psql_q "SELECT to_char(date_trunc('month', current_date) + interval '21 months', 'YYYY-MM-DD')")
psql_q "CREATE TABLE public.ev_odd PARTITION OF public.ev FOR VALUES FROM ('$far_mid') TO ('$far_end')" >/dev/null
api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" "{\"from\":\"$far\",\"to\":\"$far_end\"}"
J3=$(jqr .id)
wait_job "$P" "$J3" succeeded 30 || fail "job with a conflict still succeeds"
check "the overlap is reported" ev_odd "$(jqr '.result.conflicts[0].overlaps[0]')"
check "the foreign partition is untouched" "FOR VALUES FROM ('$far_mid') TO ('$far_end')" \
	"$(psql_q "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'ev_odd'")"

api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"ahead":3,"from":"2027-01-01"}'
check "ahead with from 400" 400 "$STATUS"
api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"from":"2027-02-30","to":"2027-05-01"}'
check "an impossible date 400" "400 from" "$STATUS $(jqr '.errors[0].field')"
api "$P" POST /v1/tables/ev/partitions "$OPERATE_TOKEN" '{"table":"public.canary","ahead":1}'
check "table in the body 400" 400 "$STATUS"
api "$P" POST /v1/tables/by_list/partitions "$OPERATE_TOKEN" '{"ahead":1}'
check "POST partitions on an unmanaged table 404" 404 "$STATUS"

# Cancel while rows move out of the default: they all go back, nothing is left half-made.
psql_q "CREATE TABLE public.cx (id bigint NOT NULL, d date NOT NULL, pad text) PARTITION BY RANGE (d);
        CREATE TABLE public.cx_default PARTITION OF public.cx DEFAULT;
        INSERT INTO public.cx SELECT g, date_trunc('month', current_date)::date + (g % 25), repeat('x', 50)
          FROM generate_series(1, 300000) g" >/dev/null
put cx '{"partition_column":"d","premake":1}'
api "$P" POST /v1/tables/cx/partitions "$OPERATE_TOKEN" '{"ahead":1,"batch_rows":2000}'
C=$(jqr .id)
for i in $(seq 1 100); do
	api "$P" GET "/v1/jobs/$C" "$READ_TOKEN"
	[ "$(jqr .progress.unit)" = rows ] && [ "$(jqr .progress.done)" -gt 0 ] && break
	sleep 0.05
done
api "$P" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$P" "$C" cancelled 30 || fail "partition job cancelled mid-move" "$BODY"
check "after cancel every row is back in the default" 300000 "$(psql_q "SELECT count(*) FROM public.cx_default")"
check "and no unattached partition is left" 0 "$(psql_q "SELECT count(*) FROM pg_class WHERE relname LIKE 'cx_2%'")"
api "$P" GET "/v1/jobs/$C/events" "$READ_TOKEN"
check_match "the undo is in the events" 'rows went back to the default partition' "$(jqr '[.events[].message] | join("|")')"

# --- the partition list ----------------------------------------------------
api "$P" GET /v1/tables/ev/partitions "$READ_TOKEN"
check "partition list 200" 200 "$STATUS"
n_catalog=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.ev'::regclass")
check "one entry per partition" "$n_catalog" "$(jqr '.partitions | length')"
check "bounds come from the catalog" "FOR VALUES FROM ('$far_mid') TO ('$far_end')" \
	"$(jqr '.partitions[] | select(.name == "ev_odd") | "FOR VALUES FROM (\u0027" + .from + "\u0027) TO (\u0027" + .to + "\u0027)"')"
check "the default partition is flagged" "ev_default true" "$(jqr '.partitions[] | select(.is_default) | [.name, .is_default] | map(tostring) | join(" ")')"
check "current partitions are hot" hot "$(jqr '[.partitions[] | select(.is_default | not)][0].tier')"
api "$P" GET '/v1/tables/ev/partitions?exact=true' "$READ_TOKEN"
check "exact counts add up to the table" "$(psql_q 'SELECT count(*) FROM public.ev')" "$(jqr '[.partitions[].rows] | add')"
check "exact counts per partition, matched by name" \
	"$(psql_q "SELECT string_agg(c.relname || '=' || coalesce(x.n, 0), ',' ORDER BY c.relname)
	             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	             LEFT JOIN (SELECT tableoid, count(*) AS n FROM public.ev GROUP BY 1) x ON x.tableoid = c.oid
	            WHERE i.inhparent = 'public.ev'::regclass")" \
	"$(jqr '[.partitions[] | "\(.name)=\(.rows)"] | sort | join(",")')"
# Names the JSON writer must escape: a quote, a backslash, a tab, non-ASCII.
psql_q "CREATE TABLE public.odd (id int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);
        CREATE TABLE public.\"odd \"\"q\\	é☃\" PARTITION OF public.odd FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
        INSERT INTO public.odd VALUES (1, '2026-01-05')" >/dev/null
put odd '{"partition_column":"d","premake":1}'
for exact in false true; do
	api "$P" GET "/v1/tables/odd/partitions?exact=$exact" "$READ_TOKEN"
	check "a partition name with a quote, a backslash, a tab and unicode (exact=$exact)" \
		"$(psql_q "SELECT relname FROM pg_class WHERE relname LIKE 'odd %'") 2026-01-01" \
		"$(jqr '.partitions[] | select(.name | startswith("odd ")) | .name + " " + .from')"
done
check "its exact count" 1 "$(jqr '.partitions[] | select(.name | startswith("odd ")) | .rows')"
api "$P" GET '/v1/tables/ev/partitions?exact=maybe' "$READ_TOKEN"
check "exact must be true or false" 400 "$STATUS"
api "$P" GET /v1/tables/ev/partitions "$READ_TOKEN" "" -H 'Accept: text/plain'
check_match "text/plain partition table for curl" '^NAME +FROM +TO +ROWS' "$(head -1 "$WORK/body")"
check "text/plain content type" "text/plain; charset=utf-8" "$(header Content-Type)"
api "$P" GET /v1/tables "$READ_TOKEN" "" -H 'Accept: text/plain'
check_match "text/plain table list" 'public\.ev +yes' "$BODY"

# Old partitions are warm or cold by the policy's ages.
old=$(psql_q "SELECT to_char(date_trunc('month', current_date) - interval '6 months', 'YYYY-MM-DD')")
older=$(psql_q "SELECT to_char(date_trunc('month', current_date) - interval '5 months', 'YYYY-MM-DD')")
psql_q "CREATE TABLE public.ev_old PARTITION OF public.ev FOR VALUES FROM ('$old') TO ('$older')" >/dev/null
api "$P" GET /v1/tables/ev/partitions "$READ_TOKEN"
check "a 6-month-old partition is warm (hot = 3 months)" warm "$(jqr '.partitions[] | select(.name == "ev_old") | .tier')"
api "$P" GET /v1/tables/ev "$READ_TOKEN"
check "a gap between partitions is an alert" 1 "$(jqr '[.alerts[] | select(.code == "partition_gap")] | length')"
put ev '{"partition_column":"created","premake":4,"alerts":{"max_partition_bytes":1}}'
check "thresholds are per table" 1 "$(jqr '[.alerts[] | select(.code == "partition_too_large")] | length')"
put ev '{"partition_column":"created","premake":4}'

# --- pruning ------------------------------------------------------------
m1=$(psql_q "SELECT to_char(date_trunc('month', current_date) + interval '1 month', 'YYYY-MM-DD')")
m2=$(psql_q "SELECT to_char(date_trunc('month', current_date) + interval '2 months', 'YYYY-MM-DD')")
api "$P" GET "/v1/tables/ev/pruning?from=$m1&to=$m2" "$READ_TOKEN"
check "pruning: one month scans one partition" "1 true" "$(jqr '[.partitions_scanned, .pruned] | map(tostring) | join(" ")')"
check "pruning names it" "ev_${m1:0:4}_${m1:5:2}" "$(jqr '.scanned[0]')"
api "$P" GET "/v1/tables/ev/pruning?from=$m2&to=$m1" "$READ_TOKEN"
check "pruning with to before from 400" 400 "$STATUS"
api "$P" GET "/v1/tables/ev/pruning?from=$m1" "$READ_TOKEN"
check "pruning without to 400" "400 to" "$STATUS $(jqr '.errors[0].field')"

# --- metrics -------------------------------------------------------------
api "$P" GET /metrics
check_match "per-table partitions gauge" 'partd_table_partitions\{table="public.ev"\} [0-9]+' "$BODY"
check_match "per-table runway gauge" 'partd_table_runway\{table="public.ev"\} [0-9]+' "$BODY"
check_match "per-table default rows gauge" 'partd_table_default_rows\{table="public.ev"\} [0-9]+' "$BODY"
check_match "per-table largest partition gauge" 'partd_table_largest_partition_bytes\{table="public.ev"\} [0-9]+' "$BODY"

# --- hostile names: 404/400, nothing executed -------------------------------
psql_q "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
psql_q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
HOSTILE=(
	"public.ev%22%3B%20DROP%20TABLE%20public.canary%3B%20--"
	"ev%27%3BDROP%20TABLE%20canary%3B--"
	"$(head -c 200 /dev/zero | tr '\0' a)"
	"public.%C3%A9v%C3%A9nements"
	"..%2F..%2Fetc%2Fpasswd"
	"a.b.c"
	"%00ev"
)
for h in "${HOSTILE[@]}"; do
	for r in "GET /v1/tables/$h" "GET /v1/tables/$h/partitions" "DELETE /v1/tables/$h" \
		"GET /v1/tables/$h/pruning?from=2026-01-01&to=2026-02-01"; do
		read -r m path <<<"$r"
		api "$P" "$m" "$path" "$ADMIN_TOKEN" "" --path-as-is -g
		check_match "hostile name ${h:0:24}… $m ${path#/v1/tables/*/} → 4xx" '^(400|404)$' "$STATUS"
	done
	api "$P" PUT "/v1/tables/$h" "$ADMIN_TOKEN" '{"partition_column":"created"}' --path-as-is -g
	check_match "hostile name ${h:0:24}… PUT → 4xx" '^(400|404)$' "$STATUS"
	api "$P" POST "/v1/tables/$h/partitions" "$OPERATE_TOKEN" '{"ahead":1}' --path-as-is -g
	check_match "hostile name ${h:0:24}… POST partitions → 4xx" '^(400|404)$' "$STATUS"
done
psql_q "ALTER SYSTEM RESET log_statement" >/dev/null
psql_q "SELECT pg_reload_conf()" >/dev/null
check "the canary table survived" 1 "$(psql_q "SELECT count(*) FROM pg_class WHERE relname = 'canary'")"
check "no hostile text reached PostgreSQL" 0 "$(grep -c -e 'DROP TABLE canary' -e 'DROP TABLE public.canary' -e 'passwd' -e 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "$WORK/pg/log/postgresql.log")"
api "$P" GET /v1/tables/ev "$READ_TOKEN"
check "partd still serves after hostile input" 200 "$STATUS"

# --- the DBA function -----------------------------------------------------
psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -f "$ROOT/sql/create_monthly_partition.sql" >/dev/null
out=$(psql_q "SELECT public.create_monthly_partition('public.ev', (current_date + interval '30 months')::date)")
check_match "create_monthly_partition makes a schema-qualified partition" '^public\.ev_[0-9]{4}_[0-9]{2} created$' "$out"
out=$(psql_q "SELECT public.create_monthly_partition('public.ev', (current_date + interval '30 months')::date)")
check_match "create_monthly_partition is idempotent" 'already exists$' "$out"
stop_partd "$PID_tables" || fail "partd stops cleanly" "exit $?"

# --- exact counts past the server's lock table -----------------------------
# A cluster of its own with a small lock table (max_locks_per_transaction
# 10 for 10 connections: some 300 slots, a few hundred more of slack) and a
# table of 600 partitions: exact counts lock every partition and its
# primary key at once, some 1,200 locks. The estimates need no such locks.
LOCKS_URL=$("$PGC" start "$WORK/pg-locks" --fast 2>"$WORK/pg-locks.err") || fail "a second cluster starts" "$(cat "$WORK/pg-locks.err")"
PGOPTIONS="-c client_min_messages=warning" psql "$LOCKS_URL" -XAtq -v ON_ERROR_STOP=1 \
	-c "ALTER SYSTEM SET max_locks_per_transaction = 10" -c "ALTER SYSTEM SET max_connections = 10" >/dev/null
"$PGC" restart "$WORK/pg-locks" >/dev/null 2>>"$WORK/pg-locks.err"
PGOPTIONS="-c client_min_messages=warning" psql "$LOCKS_URL" -XAtq -v ON_ERROR_STOP=1 \
	-c "CREATE TABLE public.many (id bigint, day date NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day)" \
	-c "DO \$\$ BEGIN FOR i IN 0..599 LOOP
	      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.many FOR VALUES FROM (%L) TO (%L)',
	                     to_char(date '1980-01-01' + make_interval(months => i), '\"many_\"YYYY_MM'),
	                     date '1980-01-01' + make_interval(months => i), date '1980-01-01' + make_interval(months => i + 1));
	      COMMIT; -- the lock table holds no more than a few hundred partitions' worth at once
	    END LOOP; END \$\$" \
	-c "INSERT INTO public.many SELECT g, date '1980-01-01' + g FROM generate_series(0, 999) g" >/dev/null
start_partd locks DATABASE_URL="$LOCKS_URL" PARTD_WORKERS=1 PARTD_POOL_SIZE=2 PARTD_SCHEDULER_INTERVAL_S=604800 || return
api "$PORT_locks" PUT /v1/tables/many "$ADMIN_TOKEN" '{"partition_column":"day"}'
check "a table of 600 partitions is managed" 201 "$STATUS"
api "$PORT_locks" GET '/v1/tables/many/partitions?exact=true' "$READ_TOKEN"
check "exact counts past the lock table: 422, not a 503 that asks to retry" 422 "$STATUS"
check_match "the 422 says why and what to do" 'more than the server.s lock table holds: leave out \?exact=true for the estimates, or raise max_locks_per_transaction' "$(jqr .detail)"
api "$PORT_locks" GET /v1/tables/many/partitions "$READ_TOKEN"
check "the estimates still answer, every partition listed" "200 600" "$STATUS $(jqr '.partitions | length')"
stop_partd "$PID_locks" || fail "partd on the small cluster stops cleanly" "exit $?"
"$PGC" destroy "$WORK/pg-locks" >/dev/null 2>&1
