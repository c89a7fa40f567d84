# Online migration of a monolithic table while a writer inserts, updates and
# deletes across every month; dry run, blockers, kill -9, cancel, tuning,
# rollback and finalize.
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
mk_table() { # NAME ROWS
	psql_q "CREATE TABLE public.$1 (id bigint PRIMARY KEY, acct int NOT NULL, day date NOT NULL,
	          v int DEFAULT 0, note text, meta jsonb, UNIQUE (acct, day));
	        CREATE INDEX ON public.$1 (day, acct);
	        INSERT INTO public.$1 SELECT g, g % 997, current_date - (g % 360), g % 100, 'n' || g, '{\"k\":1}'
	          FROM generate_series(1, $2) g" >/dev/null
}
untouched() { # TABLE SUM_BEFORE PHASE: count and sum as before, a plain table, no trigger, no _new
	check "cancel in $3 leaves $1 as it was and nothing behind" "$2 r 0 0" \
		"$(psql_q "SELECT count(*), sum(v) FROM public.$1") $(psql_q "SELECT relkind FROM pg_class WHERE oid = 'public.$1'::regclass") $(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.$1'::regclass") $(psql_q "SELECT count(*) FROM pg_class WHERE relname LIKE '$1\_new%' OR relname LIKE '$1\_2%'")"
}
reloptions() { # PARENT OPTIONS: partitions of PARENT whose options (sorted) are OPTIONS and whose TOAST table has none; all partitions
	psql_q "SELECT count(*) FILTER (WHERE coalesce((SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o), '{}') = '$2'
	                                  AND coalesce(cardinality(t.reloptions), 0) = 0), count(*)
	          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
	         WHERE i.inhparent = 'public.$1'::regclass"
}
# server_set SETTING...: ALTER SYSTEM SET each ("name = value"), then reload.
server_set() {
	local a=() x
	for x in "$@"; do a+=(-c "ALTER SYSTEM SET $x"); done
	PGOPTIONS="-c client_min_messages=warning" psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 "${a[@]}" -c "SELECT pg_reload_conf()" >/dev/null
}
# writer_start NAME CLIENTS THREADS: pgbench runs $WORK/NAME.sql in 2 s runs
# (NAME.<n>.out; a run that failed outright in NAME.errors) until
# writer_stop NAME.
writer_start() {
	rm -f "$WORK/$1.stop" "$WORK/$1".*.out "$WORK/$1.errors"
	(cd "$WORK" && n=0 && until [ -e "$1.stop" ]; do
		n=$((n + 1))
		"$PGBENCH" -n -c "$2" -j "$3" -T 2 --failures-detailed --verbose-errors -f "$1.sql" \
			"$DATABASE_URL" >"$1.$n.out" 2>&1 || echo "pgbench run $n: exit $?" >>"$1.errors"
	done) &
	WRITER=$!
}
writer_stop() { touch "$WORK/$1.stop" && wait "$WRITER"; }
# writer_failures NAME: pgbench's failed transactions (serialization
# failures and deadlocks), the errors its --verbose-errors printed (these
# also count a failure the summary leaves out: one in an explicit
# transaction that the run's end cut short) and the runs that failed.
writer_failures() {
	echo "$(awk '/number of failed transactions/ {f += $5} END {print f + 0}' "$WORK/$1".*.out)" \
		"$(grep -h 'got an error' "$WORK/$1".*.out | wc -l)" "$(cat "$WORK/$1.errors" 2>/dev/null | wc -l)"
}
# writer_why NAME: pgbench's errors and the server's view of them.
writer_why() {
	grep -h -i -e error -e deadlock -e 'failed transactions: [1-9]' "$WORK/$1".*.out | head -20 | sed 's/^/       pgbench: /'
	grep -h -A12 -E 'deadlock|could not serialize|still waiting' "$WORK"/pg/log/postgresql.log | head -150 | sed 's/^/       server: /'
}
same_rows() { # A B: rows in one and not the other, both ways, compared as text (json has no =)
	psql_q "SELECT (SELECT count(*) FROM (SELECT a::text FROM public.$1 a EXCEPT ALL SELECT b::text FROM public.$2 b) x) +
	               (SELECT count(*) FROM (SELECT b::text FROM public.$2 b EXCEPT ALL SELECT a::text FROM public.$1 a) y)"
}
# migrate PORT TABLE KNOBS: manage TABLE by its column "day", then POST its
# migration with KNOBS; STATUS and BODY are the POST's.
migrate() {
	api "$1" PUT "/v1/tables/$2" "$ADMIN_TOKEN" '{"partition_column":"day"}'
	case $STATUS in 2??) ;; *) fail "PUT /v1/tables/$2 before its migration" "$STATUS $BODY" ;; esac
	api "$1" POST "/v1/tables/$2/migration" "$OPERATE_TOKEN" "$3"
}
start_partd mig PARTD_WORKERS=2 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_PARTITIONS_CACHE_MS=0 || return
P=$PORT_mig
mk_table mig 60000
api "$P" PUT /v1/tables/mig "$ADMIN_TOKEN" '{"partition_column":"day"}'

# --- dry run: the plan, and nothing changes ---------------------------------
before=$(psql_q "SELECT count(*) FROM pg_class")
api "$P" POST /v1/tables/mig/migration "$OPERATE_TOKEN" '{"dry_run":true}'
check "dry run 200" 200 "$STATUS"
check "the plan has no blockers" 0 "$(jqr '.blockers | length')"
check_match "the plan says the primary key changes" 'primary key mig_pkey .* becomes' "$(jqr '.changes | join("|")')"
check_match "the plan says autovacuum waits for the copy" 'autovacuum is off on the new partitions' "$(jqr '.changes | join("|")')"
check "the plan covers the months and premake" true "$(jqr '.partitions >= 15')"
check "a dry run changes nothing" "$before 0" "$(psql_q "SELECT count(*) FROM pg_class") $(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.mig'::regclass")"
first=$(psql_q "SELECT min(day) FROM public.mig")
check "the dry run read the data's range exactly" "$first scan" "$(jqr '.data_range.first_day + " " + .data_range.source')"
api "$P" GET /v1/tables/mig/migration "$READ_TOKEN"
check "no migration recorded by a dry run" 404 "$STATUS"

# --- blockers ------------------------------------------------------------------
psql_q "CREATE TABLE public.blk (id int PRIMARY KEY, day date); INSERT INTO public.blk VALUES (1, current_date);
        CREATE TABLE public.blk_ref (id int REFERENCES public.blk (id))" >/dev/null
migrate "$P" blk '{"dry_run":true}'
check "dry run lists the blockers" 2 "$(jqr '.blockers | length')"
api "$P" POST /v1/tables/blk/migration "$OPERATE_TOKEN" '{}'
check "a real run with blockers 422" 422 "$STATUS"
check_match "422 names them" 'foreign key .* points at this table' "$(jqr '.blockers | join("|")')"
psql_q "CREATE TABLE public.inc (id int PRIMARY KEY, day date NOT NULL, k int);
        CREATE UNIQUE INDEX inc_k ON public.inc (k) INCLUDE (day)" >/dev/null
migrate "$P" inc '{"dry_run":true}'
check_match "a unique index with the partition column only in INCLUDE is a blocker" 'unique index inc_k does not include day' "$(jqr '.blockers | join("|")')"
psql_q "CREATE TABLE public.partd_mig_new_2 ()" >/dev/null
api "$P" POST /v1/tables/mig/migration "$OPERATE_TOKEN" '{"dry_run":true}'
check "a relation under the name of an index the new table will get is a blocker" \
	'1 public.partd_mig_new_2 already exists; partd would name an index of the new table so (rename or drop it first)' \
	"$(jqr '.blockers | length') $(jqr '.blockers[0]')"
psql_q "DROP TABLE public.partd_mig_new_2" >/dev/null
api "$P" POST /v1/tables/mig/migration "$OPERATE_TOKEN" '{"batch_rows":0}'
check "bad batch_rows 400" "400 batch_rows" "$STATUS $(jqr '.errors[0].field')"

# --- the migration under a concurrent writer -------------------------------------
# New rows take fresh ids: the partitioned table's key is (id, day), so an id
# reused on another day would be a second row there and an overwrite in the
# original, a difference the plan announces, not a loss.
psql_q "CREATE SEQUENCE public.mig_ids START 200000" >/dev/null
cat >"$WORK/mixed.sql" <<'SQL'
\set id random(1, 90000)
\set d random(0, 359)
\set op random(1, 3)
\if :op = 1
INSERT INTO public.mig (id, acct, day, v) VALUES (nextval('public.mig_ids'), 1000 + :id, current_date - :d, 1) ON CONFLICT DO NOTHING;
\elif :op = 2
UPDATE public.mig SET v = v + 1, note = 'u' WHERE id = :id;
\else
DELETE FROM public.mig WHERE id = :id;
\endif
SQL
# Lock waits go to the server log, so that a failed write explains itself.
server_set "log_lock_waits = on"
writer_start mixed 3 1
sleep 1
api "$P" POST /v1/tables/mig/migration "$OPERATE_TOKEN" '{"batch_rows":2000,"max_rows_per_s":10000}'
check "migration 202" 202 "$STATUS"
M=$(jqr .id)
wait_phase "$P" "$M" copy 1 10 || fail "mig reaches the copy" "$BODY"
check "progress in rows during copy" "copy rows" "$(jqr '[.phase, .progress.unit] | join(" ")')"
api "$P" PATCH /v1/tables/mig/migration "$OPERATE_TOKEN" '{"batch_rows":3000,"max_rows_per_s":20000}'
check "PATCH tunes the running copy" "200 3000 20000" "$STATUS $(jqr .batch_rows) $(jqr .max_rows_per_s)"
api "$P" PATCH /v1/tables/mig/migration "$OPERATE_TOKEN" '{"speed":1}'
check "PATCH with an unknown field 400" 400 "$STATUS"
api "$P" PATCH /v1/tables/mig/migration "$OPERATE_TOKEN" '{"max_rows_per_s":99999999999}'
check "PATCH with an out-of-range rate 400" "400 max_rows_per_s" "$STATUS $(jqr '.errors[0].field')"
wait_job "$P" "$M" succeeded 90 || fail "the migration succeeds" "$BODY"
api "$P" GET "/v1/jobs/$M/events?limit=1000" "$READ_TOKEN"
check "plain types: the validation hashes rows with hash_record_extended" hash_record_extended "$(jqr '[.events[] | .data.row_hash // empty][0]')"
writer_stop mixed
writer_result="$(ls "$WORK"/mixed.*.out | wc -l | awk '{print ($1 >= 3)}' | sed 's/1/true/;s/0/false/') $(writer_failures mixed)"
check "the writer ran through the whole migration, with no failures" "true 0 0 0" "$writer_result"
[ "$writer_result" = "true 0 0 0" ] || writer_why mixed
check "mig is now partitioned" p "$(psql_q "SELECT relkind FROM pg_class WHERE oid = 'public.mig'::regclass")"
check "old and new equal row for row: nothing lost, resurrected or stale" 0 "$(same_rows mig mig_old)"
check "the partitioned table has every unique constraint and index of the original, valid and attached" \
	"$(psql_q "SELECT count(*) FILTER (WHERE contype = 'u') || ' ' || count(*) FILTER (WHERE contype = 'p') FROM pg_constraint WHERE conrelid = 'public.mig_old'::regclass") $(psql_q "SELECT count(*) FROM pg_index WHERE indrelid = 'public.mig_old'::regclass") 0" \
	"$(psql_q "SELECT count(*) FILTER (WHERE contype = 'u') || ' ' || count(*) FILTER (WHERE contype = 'p') FROM pg_constraint WHERE conrelid = 'public.mig'::regclass") $(psql_q "SELECT count(*) FROM pg_index WHERE indrelid = 'public.mig'::regclass") $(psql_q "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid JOIN pg_index x ON x.indrelid = i.inhparent LEFT JOIN pg_inherits ii ON ii.inhparent = x.indexrelid AND ii.inhrelid IN (SELECT indexrelid FROM pg_index WHERE indrelid = p.oid AND indisvalid) WHERE i.inhparent = 'public.mig'::regclass AND ii.inhrelid IS NULL")"
check_match "a duplicate of the unique constraint is refused on the partitioned table" 'duplicate key value violates unique constraint' \
	"$(psql_q "INSERT INTO public.mig (id, acct, day) SELECT 999999, acct, day FROM public.mig LIMIT 1" 2>&1)"
check "the new table was analyzed before the cut-over: parent (inheritance statistics) and every partition" "t 0" \
	"$(psql_q "SELECT count(*) > 0 FROM pg_statistic WHERE starelid = 'public.mig'::regclass AND stainherit") $(psql_q "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.mig'::regclass AND c.reltuples < 0 AND c.relname NOT LIKE '%default'")"
check "the view for Prisma reads the new table" "$(psql_q 'SELECT count(*) FROM public.mig')" "$(psql_q 'SELECT count(*) FROM public.mig_view')"
api "$P" GET /v1/tables/mig "$READ_TOKEN"
check "status: partitioned" true "$(jqr .partitioned)"
check "status shows the migration and its rollback deadline" "cut_over true" "$(jqr '.migration.state + " " + ((.migration.rollback_deadline != null)|tostring)')"
api "$P" GET /v1/tables/mig/migration "$READ_TOKEN"
check "migration state and deadline" "cut_over true" "$(jqr '.state + " " + ((.rollback_deadline != null)|tostring)')"
api "$P" GET "/v1/jobs/$M/events?limit=1000" "$READ_TOKEN"
check_match "every phase is in the events" 'created public.mig_new.*now also applies.*copied.*agree.*cut over' "$(jqr '[.events[].message] | join("|")')"

# Writes after cut-over reach the kept original; rollback swaps back with nothing lost.
psql_q "INSERT INTO public.mig (id, acct, day) VALUES (900001, 5, current_date);
        UPDATE public.mig SET v = -1 WHERE id IN (SELECT id FROM public.mig ORDER BY id LIMIT 50);
        DELETE FROM public.mig WHERE id IN (SELECT id FROM public.mig ORDER BY id DESC LIMIT 50 OFFSET 1)" >/dev/null
check "after cut-over the old table follows every write" 0 "$(same_rows mig mig_old)"
api "$P" POST /v1/tables/mig/migration/finalize "$ADMIN_TOKEN" '{}'
check "finalize inside the rollback window without force 409" 409 "$STATUS"
api "$P" POST /v1/tables/mig/migration/rollback "$OPERATE_TOKEN" '{}'
check "rollback needs admin" 403 "$STATUS"
api "$P" POST /v1/tables/mig/migration/rollback "$ADMIN_TOKEN" '{}'
check "rollback 202" 202 "$STATUS"
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "rollback succeeds" "$BODY"
check "mig is the original table again" r "$(psql_q "SELECT relkind FROM pg_class WHERE oid = 'public.mig'::regclass")"
check "the row written after cut-over survived the rollback" 1 "$(psql_q 'SELECT count(*) FROM public.mig WHERE id = 900001')"
psql_q "INSERT INTO public.mig (id, acct, day) VALUES (900002, 6, current_date)" >/dev/null
check "the partitioned table stays in sync after rollback" 0 "$(same_rows mig mig_new)"
api "$P" POST /v1/tables/mig/migration/finalize "$ADMIN_TOKEN" '{}'
check "finalize after a rollback 202" 202 "$STATUS"
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "finalize succeeds" "$BODY"
check "finalize drops the partitioned copy and the trigger" "0 0" \
	"$(psql_q "SELECT count(*) FROM pg_class WHERE relname = 'mig_new'") $(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.mig'::regclass")"

# --- the index phase and writers whose transactions span months ---------------------
# A transaction of the application that writes two months holds the first
# month's partition of ixw_new (through the trigger) while it waits for the
# second's, and a partition whose definition just changed is read through
# its parent. The parent's unique constraint and indexes were once made by
# one statement each, which held the parent and then waited for each
# partition in turn: PostgreSQL broke the deadlock by failing the
# application's write in about half the runs of this section and of trials
# like it (1 to 13 writes a run). Now the parent's indexes are made ON ONLY
# the parent and each partition's is attached in a transaction of its own;
# the server's log of DDL shows that no statement of the job took the
# parent with its partitions.
server_set "log_statement = 'ddl'"
mk_table ixw 20000
psql_q "CREATE INDEX ON public.ixw (v)" >/dev/null
api "$P" PUT /v1/tables/ixw "$ADMIN_TOKEN" '{"partition_column":"day"}'
cat >"$WORK/ixw.sql" <<'SQL'
\set a :client_id * 2000 + random(1, 1000)
\set b :client_id * 2000 + random(1001, 2000)
BEGIN;
UPDATE public.ixw SET v = v + 1 WHERE id = :a;
SELECT pg_sleep(0.1);
UPDATE public.ixw SET v = v + 1 WHERE id = :b;
COMMIT;
SQL
writer_start ixw 8 2
sleep 1
api "$P" POST /v1/tables/ixw/migration "$OPERATE_TOKEN" '{"batch_rows":5000}'
wait_job "$P" "$(jqr .id)" succeeded 120 || fail "ixw's migration succeeds" "$BODY"
writer_stop ixw
writer_result=$(writer_failures ixw)
check "writers of two months per transaction ran through the index phase, with no failures" "0 0 0" "$writer_result"
[ "$writer_result" = "0 0 0" ] || writer_why ixw
server_set "log_lock_waits TO DEFAULT" "log_statement TO DEFAULT"
parts=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.ixw'::regclass")
# In the server's log of DDL (an entry per query string, a retry is a new
# one): the attaches of ixw's indexes, and the entries with more than one.
ddl_log="$WORK/pg/log/postgresql.log"
attaches="$(grep -o -E '"partd_ixw_new_[0-9]+" ATTACH PARTITION [^;]*' "$ddl_log" | sort -u | wc -l) $(awk '
	function entry() { if (gsub(/"partd_ixw_new_[0-9]+" ATTACH PARTITION/, "&", e) > 1) n++; e = "" }
	/^20[0-9][0-9]-/ { entry() } { e = e $0 } END { entry(); print n + 0 }' "$ddl_log")"
check "ixw's index phase: its constraint and 2 indexes made on the parent alone (ON ONLY), each partition's attached in a transaction of its own" \
	"0 3 $((3 * parts)) 0" \
	"$(grep -c -E '(ADD UNIQUE|INDEX ON) "public"."ixw_new"' "$ddl_log") $(grep -o -E '(ALTER TABLE ONLY "public"."ixw_new" ADD CONSTRAINT|INDEX "partd_ixw_new_[0-9]+" ON ONLY "public"."ixw_new")[^;]*' "$ddl_log" | sort -u | wc -l) $attaches"
check "ixw: the parent's constraint and indexes are valid, with every partition's attached" \
	"partd_ixw_new_1 t $parts" \
	"$(psql_q "SELECT conname FROM pg_constraint WHERE conrelid = 'public.ixw'::regclass AND contype = 'u'") $(psql_q "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'public.ixw'::regclass") $(psql_q "SELECT min(n) FROM (SELECT count(i.inhrelid) n FROM pg_index x LEFT JOIN pg_inherits i ON i.inhparent = x.indexrelid WHERE x.indrelid = 'public.ixw'::regclass GROUP BY x.indexrelid) c")"
check "ixw: old and new equal row for row" 0 "$(same_rows ixw ixw_old)"

# --- kill -9 in the index phase: what an earlier attempt made is kept ----------------
# partd is killed in the copy; the state its index phase would leave if cut
# off half-way is then made by hand, under partd's names: every partition's
# unique index, a constraint on all but the last, the second index on half
# of them, the parent's constraint with three partitions attached. The
# resumed job must finish that work without repeating any of it.
mk_table ixk 20000
start_partd ik1 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
migrate "$PORT_ik1" ixk '{"batch_rows":1000,"max_rows_per_s":4000}'
K=$(jqr .id)
wait_phase "$PORT_ik1" "$K" copy 1000 15 || fail "ixk reaches the copy" "$BODY"
kill -KILL "$PID_ik1"; wait "$PID_ik1" 2>/dev/null
psql_q "DO \$\$
DECLARE p record; i int := 0; n int;
BEGIN
  SELECT count(*) INTO n FROM pg_inherits WHERE inhparent = 'public.ixk_new'::regclass;
  EXECUTE 'ALTER TABLE ONLY public.ixk_new ADD CONSTRAINT partd_ixk_new_1 UNIQUE (acct, day)';
  FOR p IN SELECT c.oid, c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
            WHERE h.inhparent = 'public.ixk_new'::regclass ORDER BY c.oid LOOP
    i := i + 1;
    EXECUTE format('CREATE UNIQUE INDEX partd_%s_1 ON public.%I (acct, day)', p.oid, p.relname);
    IF i < n THEN
      EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT partd_%s_1 UNIQUE USING INDEX partd_%s_1', p.relname, p.oid, p.oid);
    END IF;
    IF i <= 3 THEN
      EXECUTE format('ALTER INDEX public.partd_ixk_new_1 ATTACH PARTITION public.partd_%s_1', p.oid);
    END IF;
    IF i <= n / 2 THEN
      EXECUTE format('CREATE INDEX partd_%s_2 ON public.%I (day, acct)', p.oid, p.relname);
    END IF;
  END LOOP;
END \$\$" >/dev/null
start_partd ik2 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
wait_job "$PORT_ik2" "$K" succeeded 90 || fail "ixk's migration resumes and succeeds" "$BODY"
nk=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.ixk'::regclass")
check "ixk after the resumed index phase: one unique constraint on the parent and on each partition, 3 valid indexes on each, every one attached" \
	"1 $nk 3 3 true 0" \
	"$(psql_q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.ixk'::regclass AND contype = 'u'") $(psql_q "SELECT count(*) FROM pg_constraint k JOIN pg_inherits i ON i.inhrelid = k.conrelid WHERE i.inhparent = 'public.ixk'::regclass AND k.contype = 'u'") $(psql_q "SELECT min(n) || ' ' || max(n) || ' ' || bool_and(v) FROM (SELECT count(*) n, bool_and(x.indisvalid) v FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid WHERE i.inhparent = 'public.ixk'::regclass GROUP BY i.inhrelid) c") $(psql_q "SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid WHERE i.inhparent = 'public.ixk'::regclass AND NOT EXISTS (SELECT 1 FROM pg_inherits ii WHERE ii.inhrelid = x.indexrelid)")"
check "ixk: the parent's indexes valid, the constraint the one made before the kill" "t partd_ixk_new_1" \
	"$(psql_q "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'public.ixk'::regclass") $(psql_q "SELECT conname FROM pg_constraint WHERE conrelid = 'public.ixk'::regclass AND contype = 'u'")"
check "ixk: old and new equal row for row" 0 "$(same_rows ixk ixk_old)"
stop_partd "$PID_ik2" || fail "partd stops cleanly" "exit $?"

# --- the copy gives way when it and an application transaction deadlock -----------
# The copy holds row 10 (FOR SHARE) and waits for row 1500, which another
# session holds; an application transaction holds row 2900, further on, and
# waits for row 10; row 1500 is let go, and the copy reaches row 2900. Each
# now waits for the other. PostgreSQL's deadlock check runs in whichever
# waited deadlock_timeout first and fails that one: with the server's 1 s,
# the application's write, which waited first. The copy's sessions run the
# check after 100 ms instead (when partd may set it), so the copy gives way
# and sends its range again.
psql_q "CREATE TABLE public.dlr (id bigint PRIMARY KEY, day date NOT NULL, v int DEFAULT 0);
        INSERT INTO public.dlr SELECT g, current_date - (g % 90), 0 FROM generate_series(1, 3000) g" >/dev/null
api "$P" PUT /v1/tables/dlr "$ADMIN_TOKEN" '{"partition_column":"day"}'
psql "$DATABASE_URL" -XAtq -c "BEGIN" -c "SELECT id FROM public.dlr WHERE id = 1500 FOR UPDATE" \
	-c "SELECT pg_sleep(30) /* dlr holder */" >/dev/null 2>&1 &
holder=$!
sleep 0.5
api "$P" POST /v1/tables/dlr/migration "$OPERATE_TOKEN" '{"batch_rows":100000,"parallel":1}'
D=$(jqr .id)
lane_waits() { psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'partd-copy' AND wait_event_type = 'Lock'"; }
for i in $(seq 1 200); do [ "$(lane_waits)" = 1 ] && break; sleep 0.05; done
check "the copy waits for the held row" 1 "$(lane_waits)"
psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "BEGIN" -c "UPDATE public.dlr SET v = 1 WHERE id = 2900" \
	-c "UPDATE public.dlr SET v = 1 WHERE id = 10" -c "COMMIT" >"$WORK/dlr.app" 2>&1 &
app=$!
sleep 0.3
psql_q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%dlr holder%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" "$app"
wait_job "$P" "$D" succeeded 60 || fail "dlr's migration succeeds" "$BODY"
check "the application's transaction ran through its deadlock with the copy" "" "$(cat "$WORK/dlr.app")"
api "$P" GET "/v1/jobs/$D/events?limit=1000" "$READ_TOKEN"
check "the copy gave way and sent its range again (40P01)" 40P01 "$(jqr '[.events[] | select(.message | test("waited too long")) | .data.sqlstate][0]')"
check "dlr: old and new equal row for row, the application's writes in both" "0 2" "$(same_rows dlr dlr_old) $(psql_q "SELECT count(*) FROM public.dlr WHERE v = 1")"

# --- cancel during copy: the source untouched, what was made is gone --------------
mk_table mc 30000
sum_before=$(psql_q "SELECT count(*), sum(v) FROM public.mc")
migrate "$P" mc '{"batch_rows":500,"max_rows_per_s":3000}'
C=$(jqr .id)
wait_phase "$P" "$C" copy 1 10
api "$P" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$P" "$C" cancelled 30 || fail "migration cancelled in copy" "$BODY"
untouched mc "$sum_before" copy
api "$P" GET /v1/tables/mc/migration "$READ_TOKEN"
check "the migration is recorded cancelled" cancelled "$(jqr .state)"

# --- the dual-write trigger, path by path --------------------------------------------
# The trigger writes straight to the newest 36 partitions and through the parent
# to the rest. Every kind of write, to rows the copy has and has not reached, to
# routed months, older months and the default partition, must leave the new
# table equal to the source for every row it touched; so must the trigger a
# rollback puts back (plain table to partitioned).
# An index leads with "at": prepare reads the first and last day from it,
# where a scan at dw_copying's 200 rows/s would take two minutes.
dw_table() { # NAME TYPE DAYS ROWS: a partition column "at" of TYPE over DAYS days back
	psql_q "CREATE TABLE public.$1 (id bigint PRIMARY KEY, acct int NOT NULL, at $2 NOT NULL, v int DEFAULT 0,
	          note text, UNIQUE (acct, at));
	        CREATE INDEX ON public.$1 (at);
	        INSERT INTO public.$1 SELECT g, g % 997, current_date - (g % $3) + (g % 86400) * interval '1 second',
	          g % 100, 'n' || g FROM generate_series(1, $4) g" >/dev/null
}
# The writes come from a role with privileges on the table alone, as an application's would.
psql_q "CREATE ROLE dw_writer" >/dev/null
as_writer() { PGOPTIONS="-c client_min_messages=warning" psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "SET ROLE dw_writer; $1"; }
dw_writes() { # NAME LO HI BASE: each kind of write to ids LO.. (copied) and HI.. (not yet), new ids from BASE
	local t=public.$1
	local a=$(($4 / 1000)) # accounts no other row has
	as_writer "INSERT INTO $t (id, acct, at) VALUES ($4 + 1, $a + 1, now()), ($4 + 2, $a + 2, current_date - 1190),
	          ($4 + 3, $a + 3, timestamptz '2001-01-01 00:00:00+00')" >/dev/null
	as_writer "UPDATE $t SET v = v + 7, note = 'in place' WHERE id IN ($2, $3)" >/dev/null
	as_writer "UPDATE $t SET at = at - interval '400 days' WHERE id IN ($2 + 1, $3 + 1)" >/dev/null
	as_writer "UPDATE $t SET id = id + 1000000 WHERE id IN ($2 + 2, $3 + 2)" >/dev/null
	as_writer "DELETE FROM $t WHERE id IN ($2 + 3, $3 + 3, $4 + 2)" >/dev/null
	as_writer "BEGIN; INSERT INTO $t (id, acct, at) VALUES ($4 + 4, $a + 4, current_date);
	        UPDATE $t SET v = 1 WHERE id = $4 + 4; UPDATE $t SET at = at - interval '31 days' WHERE id = $4 + 4;
	        INSERT INTO $t (id, acct, at) VALUES ($4 + 5, $a + 5, current_date); DELETE FROM $t WHERE id = $4 + 5;
	        COMMIT" >/dev/null
	# Near a month's first instant in UTC, from a session far from UTC.
	PGTZ=America/New_York as_writer "INSERT INTO $t (id, acct, at)
	          VALUES ($4 + 6, $a + 6, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 hours')" >/dev/null
}
touched() { # NAME LO HI BASE: the ids dw_writes touched
	echo "$2, $2 + 1, $2 + 2, $2 + 1000002, $2 + 3, $3, $3 + 1, $3 + 2, $3 + 1000002, $3 + 3, $4 + 1, $4 + 2, $4 + 3, $4 + 4, $4 + 5, $4 + 6"
}
same_touched() { # A B IDS: rows with those ids in one and not the other, both ways
	psql_q "SELECT (SELECT count(*) FROM (SELECT a::text FROM public.$1 a WHERE id IN ($3) EXCEPT ALL
	                                      SELECT b::text FROM public.$2 b WHERE id IN ($3)) x) +
	               (SELECT count(*) FROM (SELECT b::text FROM public.$2 b WHERE id IN ($3) EXCEPT ALL
	                                      SELECT a::text FROM public.$1 a WHERE id IN ($3)) y)"
}
routed() { # NAME: partitions of NAME_new the trigger's function names, and all of them
	psql_q "SELECT count(*) FILTER (WHERE position(quote_ident(c.relname) IN f.prosrc) > 0) || ' ' || count(*)
	          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
	               (SELECT p.prosrc FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
	                 WHERE g.tgrelid = 'public.$1'::regclass AND g.tgname = '$1_partd_sync') f
	         WHERE i.inhparent = 'public.$1_new'::regclass"
}
dw_copying() { # NAME TYPE DAYS ROWS: migrating at 200 rows/s, rows 1-10 copied; the job in DW_JOB
	dw_table "$@"
	psql_q "GRANT SELECT, INSERT, UPDATE, DELETE ON public.$1 TO dw_writer" >/dev/null
	api "$P" PUT "/v1/tables/$1" "$ADMIN_TOKEN" '{"partition_column":"at"}'
	api "$P" POST "/v1/tables/$1/migration" "$OPERATE_TOKEN" '{"batch_rows":100,"max_rows_per_s":200,"parallel":1}'
	DW_JOB=$(jqr .id)
	wait_phase "$P" "$DW_JOB" copy 1 10 || fail "$1 reaches the copy" "$BODY"
	for _ in $(seq 1 100); do
		[ "$(psql_q "SELECT count(*) FROM public.$1_new WHERE id <= 10")" = 10 ] && break
		sleep 0.2
	done
}
dw_copying dw date 1200 24000
read -r nroutes nparts <<<"$(routed dw)"
check "the trigger writes straight to the newest 36 partitions, through the parent to the other $((nparts - 36))" \
	"36 true" "$nroutes $([ "$nparts" -gt 37 ] && echo true)"
check "... the newest month is routed, the oldest and the default are not" "1 0 0" \
	"$(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dw_partd_sync' AND prosrc LIKE '%dw_' || to_char(current_date, 'YYYY_MM') || '\"%'") $(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dw_partd_sync' AND prosrc LIKE '%dw_' || to_char(current_date - 1190, 'YYYY_MM') || '\"%'") $(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dw_partd_sync' AND prosrc LIKE '%dw_default%'")"
check "rows 1-10 are copied and 23990-24000 are not, before the writes" "10 0" \
	"$(psql_q "SELECT count(*) FROM public.dw_new WHERE id <= 10") $(psql_q "SELECT count(*) FROM public.dw_new WHERE id >= 23990")"
dw_writes dw 1 23990 2000000
check "during the copy, every write reaches the new table: inserts, in-place and key-changing updates, deletes" \
	0 "$(same_touched dw dw_new "$(touched dw 1 23990 2000000)")"
check "the row far in the past went to the default partition" 1 \
	"$(psql_q "SELECT count(*) FROM public.dw_default WHERE id = 2000003")"
check "an UPDATE that keeps the key changed the copied row in place, not by delete and insert" t \
	"$(psql_q "SELECT sum(n_tup_upd) >= 1 FROM pg_stat_user_tables s JOIN pg_inherits i ON i.inhrelid = s.relid
	            WHERE i.inhparent = 'public.dw_new'::regclass")"
api "$P" PATCH /v1/tables/dw/migration "$OPERATE_TOKEN" '{"max_rows_per_s":null,"batch_rows":5000}'
wait_job "$P" "$DW_JOB" succeeded 90 || fail "dw's migration succeeds" "$BODY"
check "after the cut-over, dw and dw_old are equal row for row" 0 "$(same_rows dw dw_old)"
api "$P" POST /v1/tables/dw/migration/rollback "$ADMIN_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "dw's rollback succeeds" "$BODY"
check "after the rollback, the trigger routes from the original to the partitioned table" 36 "$(routed dw | cut -d' ' -f1)"
dw_writes dw 101 23001 3000000
check "after the rollback, every write reaches the partitioned table" 0 "$(same_rows dw dw_new)"
api "$P" POST /v1/tables/dw/migration/finalize "$ADMIN_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "dw's finalize succeeds" "$BODY"

# timestamptz: the routes' bounds are instants, whatever the writer's time zone.
dw_copying dwz timestamptz 400 6000
check "timestamptz: every partition is routed" true "$(routed dwz | awk '{print ($1 == $2 - 1) ? "true" : $0}')"
dw_writes dwz 1 5990 2000000
check "timestamptz: every write reaches the new table" 0 "$(same_touched dwz dwz_new "$(touched dwz 1 5990 2000000)")"
check "timestamptz: 02:00 UTC on the 1st, written from New York, is in this month's partition" 1 \
	"$(psql_q "SELECT count(*) FROM public.dwz_$(date -u +%Y_%m) WHERE id = 2000006")"
api "$P" PATCH /v1/tables/dwz/migration "$OPERATE_TOKEN" '{"max_rows_per_s":null,"batch_rows":5000}'
wait_job "$P" "$DW_JOB" succeeded 90 || fail "dwz's migration succeeds" "$BODY"
check "timestamptz: after the cut-over, dwz and dwz_old are equal row for row" 0 "$(same_rows dwz dwz_old)"
# A partition from MINVALUE and one in another schema: a rollback's trigger routes to both.
psql_q "CREATE SCHEMA dwz_other;
        CREATE TABLE dwz_other.dwz_2100_01 (LIKE public.dwz INCLUDING DEFAULTS);
        ALTER TABLE public.dwz ATTACH PARTITION dwz_other.dwz_2100_01
          FOR VALUES FROM ('2100-01-01 00:00:00+00') TO ('2100-02-01 00:00:00+00');
        CREATE TABLE public.dwz_ancient (LIKE public.dwz INCLUDING DEFAULTS);
        ALTER TABLE public.dwz ATTACH PARTITION public.dwz_ancient FOR VALUES FROM (MINVALUE) TO ('1990-01-01 00:00:00+00')" >/dev/null
api "$P" POST /v1/tables/dwz/migration/rollback "$ADMIN_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "dwz's rollback succeeds" "$BODY"
check "after the rollback, every partition is routed: MINVALUE first, another schema's by its own name" "true 1 1" \
	"$(routed dwz | awk '{print ($1 == $2 - 1) ? "true" : $0}') $(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dwz_partd_sync' AND prosrc LIKE '%\"dwz_other\".\"dwz_2100_01\"%'") $(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dwz_partd_sync' AND prosrc LIKE '%IF OLD.\"at\" < ''1990-01-01 00:00:00+00'' THEN%\"public\".\"dwz_ancient\"%'")"
dw_writes dwz 101 5001 3000000
as_writer "INSERT INTO public.dwz (id, acct, at) VALUES (3000011, 3011, '1980-06-01 00:00:00+00'), (3000012, 3012, '2100-01-15 00:00:00+00')" >/dev/null
check "after the rollback, writes of a non-owner reach the partitioned table, both new partitions included" "0 1 1" \
	"$(same_rows dwz dwz_new) $(psql_q "SELECT count(*) FROM public.dwz_ancient WHERE id = 3000011") $(psql_q "SELECT count(*) FROM dwz_other.dwz_2100_01 WHERE id = 3000012")"
check "nobody else may use the SECURITY DEFINER sync function" "t f" \
	"$(psql_q "SELECT prosecdef FROM pg_proc WHERE proname = 'dwz_partd_sync'") $(psql_q "SELECT has_function_privilege('dw_writer', 'public.dwz_partd_sync()', 'EXECUTE')")"
api "$P" POST /v1/tables/dwz/migration/finalize "$ADMIN_TOKEN" '{}'
wait_job "$P" "$(jqr .id)" succeeded 30 || fail "dwz's finalize succeeds" "$BODY"

# A key of extensions' types. The function's search_path is '', where a bare
# "=" finds no ltree operator (every write would fail) and compares citext as
# text (which the key's index cannot serve): it names each type's own.
psql_q "CREATE EXTENSION IF NOT EXISTS ltree; CREATE EXTENSION IF NOT EXISTS citext;
        CREATE TABLE public.dwx (id ltree NOT NULL, code citext NOT NULL, at date NOT NULL, v int DEFAULT 0,
          PRIMARY KEY (id, code));
        CREATE INDEX ON public.dwx (at);
        INSERT INTO public.dwx SELECT ('n.' || g)::ltree, 'C' || g, current_date - (g % 60), 0
          FROM generate_series(1, 6000) g;
        GRANT SELECT, INSERT, UPDATE, DELETE ON public.dwx TO dw_writer" >/dev/null
api "$P" PUT /v1/tables/dwx "$ADMIN_TOKEN" '{"partition_column":"at"}'
api "$P" POST /v1/tables/dwx/migration "$OPERATE_TOKEN" '{"batch_rows":100,"max_rows_per_s":200,"parallel":1}'
DW_JOB=$(jqr .id)
wait_phase "$P" "$DW_JOB" copy 1 10 || fail "dwx reaches the copy" "$BODY"
check "ltree and citext key columns are compared with their own operators" 1 \
	"$(psql_q "SELECT count(*) FROM pg_proc WHERE proname = 'dwx_partd_sync'
	            AND prosrc LIKE '%\"id\" OPERATOR(public.=) OLD.\"id\" AND \"code\" OPERATOR(public.=) OLD.\"code\" AND \"at\" = OLD.\"at\"%'")"
as_writer "INSERT INTO public.dwx (id, code, at) VALUES ('x.1', 'New', current_date);
           UPDATE public.dwx SET v = v + 1 WHERE id IN ('n.1', 'n.5999', 'x.1');
           UPDATE public.dwx SET code = lower(code) WHERE id IN ('n.2', 'n.5998');
           UPDATE public.dwx SET id = 'm.3' WHERE id = 'n.3';
           DELETE FROM public.dwx WHERE id IN ('n.4', 'n.5997')" >/dev/null 2>"$WORK/dwx.err" ||
	fail "the application's writes to a table keyed by ltree and citext succeed" "$(cat "$WORK/dwx.err")"
check "with such a key, every write reaches the new table" 0 \
	"$(same_touched dwx dwx_new "'x.1', 'n.1', 'n.5999', 'n.2', 'n.5998', 'n.3', 'm.3', 'n.4', 'n.5997'")"
api "$P" PATCH /v1/tables/dwx/migration "$OPERATE_TOKEN" '{"max_rows_per_s":null,"batch_rows":5000}'
wait_job "$P" "$DW_JOB" succeeded 90 || fail "dwx's migration succeeds" "$BODY"
check "ltree and citext key: after the cut-over, dwx and dwx_old are equal row for row" 0 "$(same_rows dwx dwx_old)"
stop_partd "$PID_mig" || fail "partd stops cleanly" "exit $?"

# --- grants, owner and sequence ownership move with the table -----------------
psql_q "CREATE ROLE partd_reader; CREATE TABLE public.gs (id serial PRIMARY KEY, day date NOT NULL, x int);
        INSERT INTO public.gs (day, x) SELECT current_date - g, g FROM generate_series(1, 500) g;
        GRANT SELECT ON public.gs TO partd_reader" >/dev/null
start_partd gs PARTD_SCHEDULER_INTERVAL_S=604800 || return
migrate "$PORT_gs" gs '{}'
wait_job "$PORT_gs" "$(jqr .id)" succeeded 60 || fail "gs migrates" "$BODY"
check "the grant moved to the partitioned table" t "$(psql_q "SELECT has_table_privilege('partd_reader', 'public.gs', 'SELECT')")"
check "the serial's sequence is owned by the new table" gs "$(psql_q "SELECT d.refobjid::regclass FROM pg_depend d WHERE d.objid = 'public.gs_id_seq'::regclass AND d.deptype = 'a'")"
psql_q "INSERT INTO public.gs (day, x) VALUES (current_date, 1)" >/dev/null
check "the id default still works after cut-over" 1 "$(psql_q "SELECT count(*) FROM public.gs_old WHERE id = 501")"
api "$PORT_gs" POST /v1/tables/gs/migration/rollback "$ADMIN_TOKEN" '{}'
wait_job "$PORT_gs" "$(jqr .id)" succeeded 30 || fail "gs rolls back" "$BODY"
check "rollback hands the sequence back" gs "$(psql_q "SELECT d.refobjid::regclass FROM pg_depend d WHERE d.objid = 'public.gs_id_seq'::regclass AND d.deptype = 'a'")"
api "$PORT_gs" POST /v1/tables/gs/migration/finalize "$ADMIN_TOKEN" '{}'
wait_job "$PORT_gs" "$(jqr .id)" succeeded 30 || fail "gs finalizes after rollback (serial column)" "$BODY"
check "after finalize the original keeps its grant" t "$(psql_q "SELECT has_table_privilege('partd_reader', 'public.gs', 'SELECT')")"
stop_partd "$PID_gs" || fail "partd stops cleanly" "exit $?"

# --- kill -9 during copy: a second partd resumes from the checkpoint --------------
# The source's storage parameters go to every partition; autovacuum is off
# on them while the copy fills them, then back as the source has it.
mk_table mk 40000
psql_q "ALTER TABLE public.mk SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05)" >/dev/null
start_partd mk1 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
migrate "$PORT_mk1" mk '{"batch_rows":1000,"max_rows_per_s":8000}'
K=$(jqr .id)
wait_phase "$PORT_mk1" "$K" copy 5000 15
seen=$(jqr .progress.done)
n=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.mk_new'::regclass")
[ "$n" -gt 0 ] || fail "mk_new has partitions during the copy" "$n"
check "during the copy: every partition has the source's parameters, autovacuum off (also TOAST's)" "$n|$n" \
	"$(psql_q "SELECT count(*) FILTER (WHERE c.reloptions @> '{fillfactor=90,autovacuum_vacuum_scale_factor=0.05,autovacuum_enabled=false}'
	                                     AND t.reloptions @> '{autovacuum_enabled=false}'), count(*)
	             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class t ON t.oid = c.reltoastrelid
	            WHERE i.inhparent = 'public.mk_new'::regclass")"
kill -KILL "$PID_mk1"; wait "$PID_mk1" 2>/dev/null
psql_q "DELETE FROM public.mk WHERE id % 97 = 0; UPDATE public.mk SET v = 7 WHERE id % 89 = 0" >/dev/null
start_partd mk2 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
wait_job "$PORT_mk2" "$K" succeeded 90 || fail "the migration resumes and succeeds" "$BODY"
api "$PORT_mk2" GET "/v1/jobs/$K/events?limit=1000" "$READ_TOKEN"
check "taken over in attempt 2" 2 "$(jqr '[.events[].attempt] | max')"
resumed_at=$(jqr '[.events[] | select(.message | test("copy resumes"))][0].data.copied // 0')
[ "$resumed_at" -ge "$seen" ] && [ "$seen" -gt 0 ] &&
	pass "the copy resumed from its checkpoint ($resumed_at rows already copied; $seen seen before the kill)" ||
	fail "the copy resumed from its checkpoint" "resumed at $resumed_at, $seen seen before the kill"
check "after kill -9 and resume, old and new are identical" 0 "$(same_rows mk mk_old)"
check "after the job: the source's parameters on every partition, autovacuum as the source has it" "$n|$n" \
	"$(reloptions mk '{autovacuum_vacuum_scale_factor=0.05,fillfactor=90}')"
stop_partd "$PID_mk2" || fail "partd stops cleanly" "exit $?"

# --- kill -9 during validation: the copy is not redone; validation, one
# snapshot that died with the process, starts again and ends identical ------
mk_table mv 40000
start_partd mv1 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
migrate "$PORT_mv1" mv '{"batch_rows":2000,"max_rows_per_s":20000}'
V=$(jqr .id)
wait_phase "$PORT_mv1" "$V" validate 1 20
check "validation reports its progress in rows" "validate rows true" "$(jqr '[.phase, .progress.unit, (.progress.done > 0 | tostring)] | join(" ")')"
kill -KILL "$PID_mv1"; wait "$PID_mv1" 2>/dev/null
psql_q "UPDATE public.mv SET v = v + 1 WHERE id % 101 = 0; DELETE FROM public.mv WHERE id % 103 = 0" >/dev/null
start_partd mv2 PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
wait_job "$PORT_mv2" "$V" succeeded 90 || fail "the migration resumes in validation and succeeds" "$BODY"
api "$PORT_mv2" GET "/v1/jobs/$V/events?limit=500" "$READ_TOKEN"
check "attempt 2 validated again without copying again" "1 0" \
	"$(jqr '[([.events[] | select(.attempt == 2 and (.message | test("validation starts again")))] | length), ([.events[] | select(.attempt == 2 and (.message | test("^copy")))] | length)] | join(" ")')"
check "after kill -9 in validation, old and new are identical" 0 "$(same_rows mv mv_old)"
copy_ranges() { # the copy's closing event, as "plain on_conflict conflicts"
	jqr '[.events[] | select(.data.ranges_plain != null) | .data | "\(.ranges_plain) \(.ranges_on_conflict) \(.conflicts)"][0] // "none"'
}
read -r plain nothing conflicts <<<"$(copy_ranges)"
check "with nobody writing, every range of the copy went in as a plain INSERT" "true 0 0" \
	"$([ "$plain" -ge 5 ] && echo true || echo "$plain") $nothing $conflicts"
stop_partd "$PID_mv2" || fail "partd stops cleanly" "exit $?"

# --- ranges that meet rows the trigger wrote first go again with ON CONFLICT ----
# fillfactor 50: an UPDATE of v stays in its page (HOT), so the new version,
# which the trigger has already put in cf_new, lies in a range the copy has
# not reached yet.
mk_table cf 3000
psql_q "ALTER TABLE public.cf SET (fillfactor = 50)" >/dev/null
psql_q "VACUUM FULL public.cf" >/dev/null
start_partd cf PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 || return
migrate "$PORT_cf" cf '{"batch_rows":100,"max_rows_per_s":200,"parallel":1}'
CF=$(jqr .id)
wait_phase "$PORT_cf" "$CF" copy 1 20 || fail "cf reaches the copy" "$BODY"
psql_q "UPDATE public.cf SET v = v + 1000, note = 'hot' WHERE id > 2000" >/dev/null
check "the updated rows are in cf_new through the trigger, before the copy reached them" "1000 t" \
	"$(psql_q "SELECT count(*) FROM public.cf_new WHERE note = 'hot'") $(psql_q "SELECT count(*) < 2000 FROM public.cf_new WHERE note IS DISTINCT FROM 'hot'")"
api "$PORT_cf" PATCH /v1/tables/cf/migration "$OPERATE_TOKEN" '{"max_rows_per_s":null}'
wait_job "$PORT_cf" "$CF" succeeded 60 || fail "cf's migration succeeds" "$BODY"
api "$PORT_cf" GET "/v1/jobs/$CF/events?limit=500" "$READ_TOKEN"
read -r plain nothing conflicts <<<"$(copy_ranges)"
check "ranges that met the trigger's rows failed whole and went again with ON CONFLICT DO NOTHING; the others went in plain" \
	"true true true" "$([ "$conflicts" -ge 1 ] && echo true) $([ "$nothing" -ge "$conflicts" ] && echo true) $([ "$plain" -ge 1 ] && echo true)"
check "cf: old and new equal row for row, each updated row once, as updated" "0 1000 3000" \
	"$(same_rows cf cf_old) $(psql_q "SELECT count(*) FROM public.cf WHERE note = 'hot' AND v >= 1000") $(psql_q "SELECT count(*) FROM public.cf")"
stop_partd "$PID_cf" || fail "partd stops cleanly" "exit $?"

# --- a DBA ends partd's backends (pg_terminate_backend), in the copy and then
# in validation: each time the attempt fails with the server's word for it,
# and the next, after the worker's back-off, carries on from the checkpoint:
# the copy is not redone, validation starts again ------------------------------
terminate_lanes() { psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'partd-copy'"; }
wait_attempt() { # PORT JOB N SECONDS: until attempt N of the job runs
	local i
	for i in $(seq 1 $(($4 * 10))); do
		api "$1" GET "/v1/jobs/$2" "$READ_TOKEN"
		[ "$(jqr '.attempt // 0')" -ge "$3" ] && [ "$(jqr .state)" = running ] && return 0
		sleep 0.1
	done
	return 1
}
mk_table tb 20000
# A lease of 300 s: the heartbeat renews every 100 s, so a cancel below
# that ends a job within seconds came through the heartbeat's LISTEN.
start_partd tb PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_LEASE_S=300 || return
migrate "$PORT_tb" tb '{"batch_rows":500,"max_rows_per_s":3000,"parallel":2}'
TB=$(jqr .id)
# Past 60 %: attempt 1 sends more ranges than attempt 2 will. Progress is
# saved every second, so up to 3,000 more may be copied: 5,000 are left.
wait_phase "$PORT_tb" "$TB" copy 12000 20 || fail "tb copies" "$BODY"
seen=$(jqr .progress.done)
check "a DBA ends both of the copy's backends" 2 "$(terminate_lanes)"
wait_job "$PORT_tb" "$TB" queued 20 || fail "attempt 1 fails and the job waits to be retried" "$BODY"
sent1=$(psql_q "SELECT (checkpoint->>'ranges_plain')::int + (checkpoint->>'ranges_on_conflict')::int FROM partd.jobs WHERE id = $TB")
psql_q "UPDATE public.tb SET v = v + 1 WHERE id % 91 = 0; DELETE FROM public.tb WHERE id % 93 = 0" >/dev/null
wait_attempt "$PORT_tb" "$TB" 2 20 || fail "attempt 2 of tb's migration runs" "$BODY"
wait_phase "$PORT_tb" "$TB" validate 2000 60 || fail "tb reaches validation" "$BODY"
# This time the job's own session goes too. It sits idle between progress
# saves, so libpq learns of its end only at its next use: the attempt's end
# must be recorded on a new session at once, not when the 300 s lease ends.
check "a DBA ends both of validation's backends and the job's own session" 3 \
	"$(psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name IN ('partd-copy', 'partd-worker')")"
wait_job "$PORT_tb" "$TB" succeeded 60 || fail "tb's migration succeeds in its third attempt" "$BODY"
api "$PORT_tb" GET "/v1/jobs/$TB/events?limit=1000" "$READ_TOKEN"
check "attempts 1 (in the copy) and 2 (in validation) failed, each saying the server ended a connection, and were retried" \
	"copy validate" \
	"$(jqr '[.events[] | select(.message | test("^attempt [12] failed: ((copy|validate): .*(administrator command|closed the connection|no connection to the server)|the job.s database session was lost).*; retrying in")) | [.phase // "", .message] | if (.[1] | test("session was lost")) then .[0] else (.[1] | capture("^attempt [12] failed: (?<p>[a-z]+)").p) end] | join(" ")')"
check "a lost session is not taken for a shutdown" 0 "$(jqr '[.events[] | select(.message | test("shutting down"))] | length')"
resumed_at=$(jqr '[.events[] | select(.attempt == 2 and (.message | test("copy resumes")))][0].data.copied // 0')
[ "$resumed_at" -ge "$seen" ] && [ "$seen" -gt 0 ] &&
	pass "attempt 2 resumed the copy from its checkpoint ($resumed_at rows copied; $seen seen before)" ||
	fail "attempt 2 resumed the copy from its checkpoint" "resumed at $resumed_at, $seen seen before"
check "attempt 3 validated again without copying again" "3 1 0" \
	"$(jqr '[([.events[].attempt] | max), ([.events[] | select(.attempt == 3 and (.message | test("validation starts again")))] | length), ([.events[] | select(.attempt == 3 and (.message | test("^copy")))] | length)] | join(" ")')"
sent=$(jqr '[.events[] | select(.data.ranges_plain != null) | .data.ranges_plain + .data.ranges_on_conflict][0] // 0')
[ "${sent1:-0}" -gt 0 ] && [ "$sent" -gt "$sent1" ] &&
	pass "the copy's closing event counts the ranges of both attempts ($sent; $sent1 by attempt 1)" ||
	fail "the copy's closing event counts the ranges of both attempts" "$sent, $sent1 by attempt 1"
check "after two ended backends, old and new are identical" 0 "$(same_rows tb tb_old)"

# --- under a rate limit, the statistics pass yields as autovacuum's would -------
# With autovacuum's cost delay at 20 ms a page (limit 1), a throttled ANALYZE
# of az sleeps at least 20 ms for each of the 50-odd pages it reads; the
# same ANALYZE of ay, whose migration has no rate limit, does not sleep.
server_set "autovacuum_vacuum_cost_delay = '20ms'" "autovacuum_vacuum_cost_limit = 1"
analyze_event() { # JOB: "paced duration_ms at cost_delay" of the ANALYZE event
	api "$PORT_tb" GET "/v1/jobs/$1/events?limit=500" "$READ_TOKEN"
	jqr '[.events[] | select(.message | test("^statistics of")) | "\(.data.paced) \(.data.duration_ms | floor) \(.at) \(.data.cost_delay)"][0] // "none"'
}
mk_table az 2000
mk_table ay 2000
migrate "$PORT_tb" az '{"max_rows_per_s":100000}'
AZ=$(jqr .id)
migrate "$PORT_tb" ay '{}'
AY=$(jqr .id)
wait_job "$PORT_tb" "$AZ" succeeded 60 || fail "az's migration succeeds" "$BODY"
wait_job "$PORT_tb" "$AY" succeeded 60 || fail "ay's migration succeeds" "$BODY"
server_set "autovacuum_vacuum_cost_delay TO DEFAULT" "autovacuum_vacuum_cost_limit TO DEFAULT"
read -r paced ms at_az _ <<<"$(analyze_event "$AZ")"
check "with a rate limit, ANALYZE ran with autovacuum's cost delay (${ms:-?} ms)" "true true" \
	"$paced $([ "${ms:-0}" -ge 500 ] && echo true || echo false)"
read -r paced ms at_ay _ <<<"$(analyze_event "$AY")"
# One worker: ay's ANALYZE ran on the connection az's had used.
check "without one, later on the same worker, at full speed: the settings did not outlive az's (${ms:-?} ms)" "false true true" \
	"$paced $([ "${ms:-1000}" -lt 500 ] && echo true || echo false) $([[ "${at_ay:-0}" > "${at_az:-1}" ]] && echo true || echo false)"
# autovacuum's delay at 0 (an operator who unthrottled it): a rate-limited
# ANALYZE has nothing to yield with, and the event does not call it paced.
server_set "autovacuum_vacuum_cost_delay = 0" "autovacuum_vacuum_cost_limit = 1"
mk_table ax 2000
migrate "$PORT_tb" ax '{"max_rows_per_s":100000}'
AX=$(jqr .id)
wait_job "$PORT_tb" "$AX" succeeded 60 || fail "ax's migration succeeds" "$BODY"
server_set "autovacuum_vacuum_cost_delay TO DEFAULT" "autovacuum_vacuum_cost_limit TO DEFAULT"
read -r paced ms _ delay <<<"$(analyze_event "$AX")"
check "with a rate limit but autovacuum's delay at 0: not paced, at full speed, no delay reported (${ms:-?} ms)" \
	"false true null" \
	"$paced $([ "${ms:-1000}" -lt 500 ] && echo true || echo false) $delay"
# A cancel cuts a paced ANALYZE short: at 20 ms a page again, ac's takes
# some 10 s; the job must end, cleaned up, within 5 s of the request, and
# the ANALYZE must not have finished (no statistics event).
server_set "autovacuum_vacuum_cost_delay = '20ms'" "autovacuum_vacuum_cost_limit = 1"
mk_table ac 6000
before=$(psql_q "SELECT count(*), sum(v) FROM public.ac")
migrate "$PORT_tb" ac '{"max_rows_per_s":100000}'
AC=$(jqr .id)
analyzing() { psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'partd-worker' AND state = 'active' AND query LIKE 'ANALYZE %ac_new%'"; }
for _ in $(seq 1 300); do [ "$(analyzing)" = 1 ] && break; sleep 0.1; done
check "ac's ANALYZE runs" 1 "$(analyzing)"
cancel_timed "$PORT_tb" "$AC" 30
server_set "autovacuum_vacuum_cost_delay TO DEFAULT" "autovacuum_vacuum_cost_limit TO DEFAULT"
check "a cancel during a paced ANALYZE ends the job within 5 s, not when the ANALYZE would ($CANCEL_MS ms)" true \
	"$([ "$CANCEL_MS" -lt 5000 ] && echo true || echo false)"
api "$PORT_tb" GET "/v1/jobs/$AC/events?limit=500" "$READ_TOKEN"
check "ac's ANALYZE was cut short: no statistics event, cancelled in the index phase" "0 index" \
	"$(jqr '[.events[] | select(.message | test("^statistics of"))] | length') $(jqr '[.events[] | select(.message | test("^cancelled"))][0].phase // "none"')"
untouched ac "$before" "the paced ANALYZE"
stop_partd "$PID_tb" || fail "partd stops cleanly" "exit $?"

# --- cancel in validation, and in dual-write and cut-over while another
# session holds a lock they need: the source as it was, nothing left over -----
start_partd mcx PARTD_WORKERS=1 PARTD_LOCK_TIMEOUT_MS=300 PARTD_SCHEDULER_INTERVAL_S=604800 || return
wait_event() { # JOB REGEX SECONDS: until an event's message matches
	local i
	for i in $(seq 1 $(($3 * 10))); do
		api "$PORT_mcx" GET "/v1/jobs/$1/events?limit=500" "$READ_TOKEN"
		[ "$(jqr "[.events[].message | select(test(\"$2\"))] | length")" -gt 0 ] && return 0
		sleep 0.1
	done
	return 1
}
mk_table cv 30000
before=$(psql_q "SELECT count(*), sum(v) FROM public.cv")
migrate "$PORT_mcx" cv '{"batch_rows":2000,"max_rows_per_s":15000}'
C=$(jqr .id)
CV_JOB=$C
wait_phase "$PORT_mcx" "$C" validate 0 20 || fail "cv reaches validation" "$BODY"
# Two builds on each of ~13 partitions of 30000 rows in all: at 15000
# rows/s the builds cannot all start within 3 s.
api "$PORT_mcx" GET "/v1/jobs/$C/events?limit=500" "$READ_TOKEN"
check "the index builds keep to max_rows_per_s" "true true" \
	"$(jqr '[.events[] | select(.message | test("^building .* at most 15000 rows/s|built and attached")) | .at | (sub("\\.[0-9]+"; "") | fromdateiso8601) + ((capture("\\.(?<f>[0-9]+)") | "0." + .f | tonumber) // 0)] | [length == 2, (.[1] - .[0]) >= 3] | map(tostring) | join(" ")')"
api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_mcx" "$C" cancelled 30 || fail "migration cancelled in validation" "$BODY"
untouched cv "$before" validation

# A rate raised while the copy runs holds from then on: the copy does not
# make up, at full speed, for the time it ran slower (at 500 rows/s for some
# 6 s, then 5,000: a catch-up would copy some 42,000 rows in the 3 s after).
mk_table cr 60000
before=$(psql_q "SELECT count(*), sum(v) FROM public.cr")
migrate "$PORT_mcx" cr '{"batch_rows":500,"max_rows_per_s":500}'
C=$(jqr .id)
wait_phase "$PORT_mcx" "$C" copy 2500 30 || fail "cr copies at 500 rows/s" "$BODY"
api "$PORT_mcx" PATCH /v1/tables/cr/migration "$OPERATE_TOKEN" '{"max_rows_per_s":5000}'
api "$PORT_mcx" GET "/v1/jobs/$C" "$READ_TOKEN"
d0=$(jqr .progress.done)
sleep 3
api "$PORT_mcx" GET "/v1/jobs/$C" "$READ_TOKEN"
d1=$(jqr .progress.done)
# At most 4 s at 5,000 rows/s (the knobs are read every second, progress
# saved every second) and one range more; at least 2,500 rows, well over
# the 1,500 of 3 s at the old rate (a second of knob lag and a second of
# progress lag can leave only about 1 s at the new one).
check "a raised rate takes hold without a burst ($((d1 - d0)) rows in 3 s)" "copy true true" \
	"$(jqr .phase) $([ $((d1 - d0)) -le 21000 ] && echo true || echo false) $([ $((d1 - d0)) -ge 2500 ] && echo true || echo false)"
api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_mcx" "$C" cancelled 30 || fail "migration cancelled in the copy" "$BODY"
untouched cr "$before" copy

# Prepare reads the data's first and last day. With no index that leads
# with the column, that is a scan of the whole table: in block ranges at the
# request's rate, with progress, and a cancel stops it having made nothing.
# With such an index (cv's (day, acct)), one min()/max() reads two entries.
mk_table pr 30000
psql_q "DROP INDEX public.pr_day_acct_idx" >/dev/null
before=$(psql_q "SELECT count(*), sum(v) FROM public.pr")
migrate "$PORT_mcx" pr '{"batch_rows":500,"max_rows_per_s":3000}'
C=$(jqr .id)
wait_phase "$PORT_mcx" "$C" prepare 1000 20 || fail "pr: prepare scans with progress" "$BODY"
check "pr: the scan keeps to max_rows_per_s (10 s for 30000 rows at 3000 rows/s)" "prepare true 1" \
	"$(jqr .phase) $(jqr '.progress.done < 25000') $(psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'partd-copy' AND xact_start IS NOT NULL")"
api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_mcx" "$C" cancelled 30 || fail "migration cancelled in prepare's scan" "$BODY"
untouched pr "$before" "prepare's scan"
api "$PORT_mcx" GET "/v1/jobs/$C/events?limit=500" "$READ_TOKEN"
check_match "pr: the cancel says nothing was made" 'cancelled in prepare, while reading the data.s first and last day: nothing was made; public.pr is as it was' \
	"$(jqr '[.events[].message] | join("|")')"
api "$PORT_mcx" POST /v1/tables/pr/migration "$OPERATE_TOKEN" '{"batch_rows":500,"max_rows_per_s":20000}'
C=$(jqr .id)
wait_phase "$PORT_mcx" "$C" "@(copy|index|validate)" 0 30 || fail "pr: past prepare" "$BODY"
api "$PORT_mcx" GET "/v1/jobs/$C/events?limit=500" "$READ_TOKEN"
check "pr: prepare scanned, and its first partition holds the first day" "scan $(psql_q "SELECT to_char(min(day), 'YYYY_MM') FROM public.pr")" \
	"$(jqr '[.events[] | select(.message | test("first and last day read")) | .data.read][0]') $(psql_q "SELECT min(substring(c.relname from '_(\d{4}_\d{2})$')) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.pr_new'::regclass")"
api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_mcx" "$C" cancelled 30 || fail "pr: cancelled" "$BODY"
untouched pr "$before" "the copy after a scan"
api "$PORT_mcx" GET "/v1/jobs/$CV_JOB/events?limit=500" "$READ_TOKEN"
check "cv: an index leads with day, so prepare read two entries of it" index \
	"$(jqr '[.events[] | select(.message | test("first and last day read")) | .data.read][0]')"
# Infinities go to the default partition: the range is the finite days,
# read from the index (pi) or by the scan (pr), and a row of each changes
# neither.
mk_table pi 3000
for t in pi:2000 pr:20000; do # TABLE:RATE, so that the copy lasts a second or more
	psql_q "INSERT INTO public.${t%:*} (id, acct, day) VALUES (900001, 1, '-infinity'), (900002, 2, 'infinity')" >/dev/null
	migrate "$PORT_mcx" "${t%:*}" '{"dry_run":true}'
	check "${t%:*}: the dry run's range is the finite days too" \
		"$(psql_q "SELECT 'scan ' || min(day) || ' .. ' || max(day) FROM public.${t%:*} WHERE isfinite(day)")" \
		"$(jqr '.data_range.source + " " + .data_range.first_day + " .. " + .data_range.last_day')"
	api "$PORT_mcx" POST "/v1/tables/${t%:*}/migration" "$OPERATE_TOKEN" "{\"batch_rows\":500,\"max_rows_per_s\":${t#*:}}"
	t=${t%:*}
	C=$(jqr .id)
	wait_phase "$PORT_mcx" "$C" "@(copy|index|validate|cut-over)" 0 30 || fail "$t: past prepare" "$BODY"
	api "$PORT_mcx" GET "/v1/jobs/$C/events?limit=500" "$READ_TOKEN"
	check "$t: an infinite day leaves the range to the finite ones" \
		"$(psql_q "SELECT min(day) || ' .. ' || max(day) FROM public.$t WHERE isfinite(day)")" \
		"$(jqr '[.events[] | select(.message | test("first and last day read")) | .message | capture("read: (?<r>[^ ]+ \\.\\. [^ ]+)").r][0]')"
	api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
	wait_job "$PORT_mcx" "$C" cancelled 30 || fail "$t: cancelled" "$BODY"
done

# cancel_waiting TABLE PHASE HOLDER_SQL EVENT_REGEX: while another session
# runs HOLDER_SQL, the job waits in PHASE (an event matching EVENT_REGEX)
# and is cancelled there; WAITED keeps the events seen while it waited.
cancel_waiting() {
	local holder
	mk_table "$1" 3000
	api "$PORT_mcx" PUT "/v1/tables/$1" "$ADMIN_TOKEN" '{"partition_column":"day"}'
	before=$(psql_q "SELECT count(*), sum(v) FROM public.$1")
	psql "$DATABASE_URL" -XAtq -c "$3" >/dev/null &
	holder=$!
	sleep 0.5
	api "$PORT_mcx" POST "/v1/tables/$1/migration" "$OPERATE_TOKEN" '{}'
	C=$(jqr .id)
	wait_event "$C" "$4" 20 || fail "$1: the job waits in $2" "$BODY"
	WAITED=$BODY
	api "$PORT_mcx" GET "/v1/jobs/$C" "$READ_TOKEN"
	check "$1: the job waits in $2" "$2" "$(jqr .phase)"
	api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
	wait_job "$PORT_mcx" "$C" cancelled 30 || fail "migration cancelled in $2" "$BODY"
	wait "$holder"
	untouched "$1" "$before" "$2"
}
# An uncommitted table of the same name: prepare's CREATE TABLE waits for
# that transaction (under lock_timeout) while the plan cannot see it.
cancel_waiting cp prepare "BEGIN; CREATE TABLE public.cp_new (x int); SELECT pg_sleep(5); ROLLBACK" \
	"partitioned table: lock_timeout"
# A writer's open transaction: the trigger's DDL waits for its lock.
cancel_waiting cd dual-write "BEGIN; UPDATE public.cd SET v = v WHERE id = 1; SELECT pg_sleep(5); COMMIT" \
	"dual-write trigger: lock_timeout"
check_match "the lock wait names who holds the lock" 'UPDATE public.cd' \
	"$(jq -r '[.events[].data.lock_holders[]?.query] | join("|")' <<<"$WAITED")"
# An open snapshot older than the index builds: CREATE INDEX CONCURRENTLY
# waits for it (under lock_timeout); a cancel there drops what was built.
cancel_waiting ci index "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM public.ci; SELECT pg_sleep(8); COMMIT" \
	"INDEX CONCURRENTLY .*lock_timeout"

# A reader that starts during validation holds ACCESS SHARE: harmless to
# validation, but the cut-over's ACCESS EXCLUSIVE must wait for it.
mk_table co 30000
before=$(psql_q "SELECT count(*), sum(v) FROM public.co")
migrate "$PORT_mcx" co '{"max_rows_per_s":15000}'
C=$(jqr .id)
wait_phase "$PORT_mcx" "$C" validate 0 20 || fail "co reaches validation" "$BODY"
psql "$DATABASE_URL" -XAtq -c "BEGIN; SELECT count(*) FROM public.co; SELECT pg_sleep(8); COMMIT" >/dev/null &
holder=$!
wait_event "$C" "cut-over: lock_timeout" 20 || fail "the cut-over waits for the reader" "$BODY"
api "$PORT_mcx" POST "/v1/jobs/$C/cancel" "$OPERATE_TOKEN"
wait_job "$PORT_mcx" "$C" cancelled 30 || fail "migration cancelled in cut-over" "$BODY"
wait "$holder"
untouched co "$before" cut-over
api "$PORT_mcx" GET "/v1/jobs/$C/events?limit=500" "$READ_TOKEN"
check_match "the cancel says what it undid" 'cancelled in cut-over: the trigger and co_new were dropped' "$(jqr '[.events[].message] | join("|")')"
api "$PORT_mcx" POST /v1/tables/co/migration "$OPERATE_TOKEN" '{"parallel":0}'
check "parallel out of range 400" "400 parallel" "$STATUS $(jqr '.errors[0].field')"
# --- validation that finds a difference: the job fails naming the month and
# leaves everything in place for inspection ---------------------------------------
mk_table vx 20000
migrate "$PORT_mcx" vx '{"max_rows_per_s":10000}'
C=$(jqr .id)
wait_phase "$PORT_mcx" "$C" copy 0 20
# A row only the new table has: no write of the application could do this.
psql_q "INSERT INTO public.vx_new (id, acct, day) VALUES (999999, 1, current_date)" >/dev/null
wait_job "$PORT_mcx" "$C" failed 60 || fail "validation fails the migration" "$BODY"
check "the failure names the month that differs" "Validation failed $(date -u +%Y-%m)" "$(jqr '.error.title + " " + (.result.months_differing | join(","))')"
check "a failed validation leaves source, trigger and new table in place" "r 1 1" \
	"$(psql_q "SELECT relkind FROM pg_class WHERE oid = 'public.vx'::regclass") $(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.vx'::regclass") $(psql_q "SELECT count(*) FROM pg_class WHERE relname = 'vx_new'")"
api "$PORT_mcx" GET /v1/tables/vx/migration "$READ_TOKEN"
check "the migration is recorded failed" failed "$(jqr .state)"
n=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.vx_new'::regclass")
[ "$n" -gt 0 ] || fail "vx_new has partitions" "$n"
check "the new table left for inspection is vacuumed as the source is" "$n|$n" "$(reloptions vx_new '{}')"

# --- finalize inside the rollback window takes force -------------------------------
mk_table fz 2000
migrate "$PORT_mcx" fz '{}'
wait_job "$PORT_mcx" "$(jqr .id)" succeeded 60 || fail "fz migrates" "$BODY"
api "$PORT_mcx" POST /v1/tables/fz/migration/finalize "$ADMIN_TOKEN" '{"force":"yes"}'
check "force that is not a boolean 400" "400 force" "$STATUS $(jqr '.errors[0].field')"
api "$PORT_mcx" POST /v1/tables/fz/migration/finalize "$ADMIN_TOKEN" '{"force":true}'
check "finalize with force inside the window 202" 202 "$STATUS"
wait_job "$PORT_mcx" "$(jqr .id)" succeeded 30 || fail "forced finalize succeeds" "$BODY"
check "forced finalize drops the kept original and the trigger; the table stays partitioned" "0 0 p" \
	"$(psql_q "SELECT count(*) FROM pg_class WHERE relname = 'fz_old'") $(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.fz'::regclass") $(psql_q "SELECT relkind FROM pg_class WHERE oid = 'public.fz'::regclass")"
# --- the plan's data range within the request's scan budget -------------------
# With a budget of 1 ms a request cannot scan 200,000 rows for min/max (no
# index leads with the column): its plan takes the range from pg_stats; the
# job's own plan scans.
psql_q "CREATE TABLE public.rb (id bigint PRIMARY KEY, day date NOT NULL, pad text);
        INSERT INTO public.rb SELECT g, date '2026-03-01' + (g % 120), repeat('p', 40) FROM generate_series(1, 200000) g;
        ANALYZE public.rb" >/dev/null
start_partd rb PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_PLAN_SCAN_BUDGET_MS=1 || return
migrate "$PORT_rb" rb '{"dry_run":true}'
check "over its scan budget, a dry run takes the range from the statistics" "200 statistics 2026-03-01 rb_2026_03" \
	"$STATUS $(jqr '[.data_range.source, .data_range.first_day, .first_partition] | join(" ")')"
api "$PORT_rb" POST /v1/tables/rb/migration "$OPERATE_TOKEN" '{}'
wait_job "$PORT_rb" "$(jqr .id)" succeeded 60 || fail "rb migrates" "$BODY"
api "$PORT_rb" GET /v1/tables/rb/migration "$READ_TOKEN"
check "the job's plan scanned for the range" "scan 2026-03-01 2026-06-28" \
	"$(jqr '[.plan.data_range.source, .plan.data_range.first_day, .plan.data_range.last_day] | join(" ")')"
check "every row arrived" "200000 0" "$(psql_q 'SELECT count(*) FROM public.rb') $(same_rows rb rb_old)"
# Infinities in the statistics are left out too, as the scans leave them out.
psql_q "CREATE TABLE public.rbi (LIKE public.rb);
        INSERT INTO public.rbi SELECT * FROM public.rb;
        INSERT INTO public.rbi SELECT 300000 + g, CASE WHEN g % 2 = 0 THEN date '-infinity' ELSE date 'infinity' END
          FROM generate_series(1, 2000) g;
        ANALYZE public.rbi" >/dev/null
migrate "$PORT_rb" rbi '{"dry_run":true}'
check "the statistics hold both infinities; the dry run's range from them is the finite days" \
	"t 200 statistics 2026-03-01 2026-06-28" \
	"$(psql_q "SELECT bool_and(s.histogram_bounds::text LIKE '%infinity%') FROM pg_stats s WHERE s.tablename = 'rbi' AND s.attname = 'day'") $STATUS $(jqr '[.data_range.source, .data_range.first_day, .data_range.last_day] | join(" ")')"
psql_q "CREATE TABLE public.rb_empty (id bigint PRIMARY KEY, day date NOT NULL)" >/dev/null
migrate "$PORT_rb" rb_empty '{"dry_run":true}'
check "an empty table: no range, the current day stands in" "200 none $(date -u +%F)" \
	"$STATUS $(jqr '.data_range.source + " " + .data_range.first_day')"
stop_partd "$PID_rb" || fail "partd (rb) stops cleanly" "exit $?"

# --- a cancel of the plan's scan is an error, not a fallback -------------------
# A statement timeout and a cancel share SQLSTATE 57014. Only a scan that ran
# for its whole budget takes the range from the statistics; a scan cancelled
# before that (pg_cancel_backend, a server shutting down) answers 503, to be
# retried, rather than a plan built on statistics nobody asked for. The scan
# is held on a lock so that the cancel lands inside it.
psql_q "CREATE TABLE public.rq (id bigint PRIMARY KEY, day date NOT NULL);
        INSERT INTO public.rq SELECT g, date '2026-03-01' + g % 60 FROM generate_series(1, 1000) g;
        ANALYZE public.rq" >/dev/null
start_partd rq PARTD_WORKERS=1 PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_PLAN_SCAN_BUDGET_MS=60000 || return
api "$PORT_rq" PUT /v1/tables/rq "$ADMIN_TOKEN" '{"partition_column":"day"}'
psql "$DATABASE_URL" -XAtq -c "BEGIN; LOCK TABLE public.rq IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30) /* rq holder */; COMMIT" >/dev/null 2>&1 &
holder=$!
for i in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM pg_locks WHERE relation = 'public.rq'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
	sleep 0.05
done
curl -s -o "$WORK/rq.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $OPERATE_TOKEN" \
	-H 'Content-Type: application/json' --data-binary '{"dry_run":true}' \
	"http://127.0.0.1:$PORT_rq/v1/tables/rq/migration" >"$WORK/rq.status" &
req=$!
scan=
for i in $(seq 1 200); do
	scan=$(psql_q "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT min(%' AND query LIKE '%rq%'")
	[ -n "$scan" ] && break
	sleep 0.05
done
check "the dry run's min/max scan waits on the lock" "1" "$(printf '%s' "$scan" | grep -c '^[0-9][0-9]*$')"
[ -n "$scan" ] && psql_q "SELECT pg_cancel_backend($scan)" >/dev/null
wait "$req"
check "a cancelled scan answers 503 and no plan" "503 null" "$(cat "$WORK/rq.status") $(jq -r .data_range "$WORK/rq.body")"
psql_q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%rq holder%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null || true
api "$PORT_rq" POST /v1/tables/rq/migration "$OPERATE_TOKEN" '{"dry_run":true}'
check "once the lock is gone the same dry run scans" "200 scan 2026-03-01" \
	"$STATUS $(jqr '[.data_range.source, .data_range.first_day] | join(" ")')"
stop_partd "$PID_rq" || fail "partd (rq) stops cleanly" "exit $?"

# --- column names with commas, quotes and braces -----------------------------------
# They travel through the plan, the trigger and the copy as whole names.
# Its json column (json has no hash function) makes the validation hash
# rows' text.
psql_q 'CREATE TABLE public.oddcols ("id,x" bigint PRIMARY KEY, "Day" date NOT NULL, "we""ird" text,
          "a}b" int NOT NULL, j json, UNIQUE ("a}b", "Day"));
        CREATE INDEX ON public.oddcols ("we""ird");
        INSERT INTO public.oddcols SELECT g, current_date - (g % 90), $$w$$ || g, g, ($${"g":$$ || g || $$}$$)::json
          FROM generate_series(1, 3000) g;
        ALTER TABLE public.oddcols SET (autovacuum_enabled = false)' >/dev/null
api "$PORT_mcx" PUT /v1/tables/oddcols "$ADMIN_TOKEN" '{"partition_column":"Day"}'
api "$PORT_mcx" POST /v1/tables/oddcols/migration "$OPERATE_TOKEN" '{"dry_run":true}'
check_match "the plan names the odd key whole" 'primary key oddcols_pkey \(id,x\) becomes \("id,x", "Day"\)' "$(jqr '.changes | join("|")')"
# parallel 1: index builds without parallel workers, and the validation's
# two connections taking turns.
api "$PORT_mcx" POST /v1/tables/oddcols/migration "$OPERATE_TOKEN" '{"parallel":1}'
OJ=$(jqr .id)
wait_job "$PORT_mcx" "$OJ" succeeded 60 || fail "a table with odd column names migrates" "$BODY"
api "$PORT_mcx" GET "/v1/jobs/$OJ/events?limit=1000" "$READ_TOKEN"
check "a json column: the validation hashes the rows' text" md5 "$(jqr '[.events[] | .data.row_hash // empty][0]')"
check "odd names: every row arrives, and the unique constraint and index are there" "3000 0 2" \
	"$(psql_q 'SELECT count(*) FROM public.oddcols') $(same_rows oddcols oddcols_old) $(psql_q "SELECT count(*) FROM pg_indexes WHERE tablename = 'oddcols' AND (indexdef LIKE '%\"a}b\", \"Day\"%' OR indexdef LIKE '%\"we\"\"ird\"%')")"
psql_q 'INSERT INTO public.oddcols VALUES (9001, current_date, $$new$$, 9001);
        UPDATE public.oddcols SET "we""ird" = $$changed$$ WHERE "id,x" = 5;
        DELETE FROM public.oddcols WHERE "id,x" = 6' >/dev/null
check "odd names: the reverse trigger keeps the original in step" 0 "$(same_rows oddcols oddcols_old)"
n=$(psql_q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.oddcols'::regclass")
[ "$n" -gt 0 ] || fail "oddcols is partitioned" "$n"
check "autovacuum off on the source: off on every partition after the job" "$n|$n" "$(reloptions oddcols '{autovacuum_enabled=false}')"
stop_partd "$PID_mcx" || fail "partd stops cleanly" "exit $?"
