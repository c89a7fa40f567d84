# A table whose partitions pg_partman made: partd's status reads the same
# bounds that partman.show_partitions reports.
psql_q "CREATE SCHEMA IF NOT EXISTS partman; CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman" >/dev/null
psql_q "CREATE TABLE public.pm (id bigint NOT NULL, day date NOT NULL) PARTITION BY RANGE (day)" >/dev/null
psql_q "SELECT partman.create_parent('public.pm', 'day', 'native', 'monthly', p_premake := 4)" >/dev/null
start_partd partman PARTD_SCHEDULER_INTERVAL_S=604800 || return
api "$PORT_partman" PUT /v1/tables/public.pm "$ADMIN_TOKEN" '{"partition_column":"day","premake":4}'
check "a pg_partman table registers" 201 "$STATUS"
api "$PORT_partman" GET /v1/tables/public.pm/partitions "$READ_TOKEN"
ours=$(jqr '.partitions[] | select(.is_default | not) | "\(.name) \(.from) \(.to)"' | sort)
theirs=$(psql_q "SELECT p.partition_tablename || ' ' || i.child_start_time::date || ' ' || i.child_end_time::date
                   FROM partman.show_partitions('public.pm') p,
                        LATERAL partman.show_partition_info(p.partition_schemaname || '.' || p.partition_tablename) i" | sort)
[ -n "$theirs" ] && check "partition bounds match partman.show_partitions" "$theirs" "$ours" || fail "pg_partman made partitions"
check "default partition seen" 1 "$(jqr '[.partitions[] | select(.is_default)] | length')"
api "$PORT_partman" GET /v1/tables/public.pm "$READ_TOKEN"
check "pg_partman's premake covers partd's premake: no missing alert" 0 "$(jqr '[.alerts[] | select(.code == "partitions_missing")] | length')"
check "runway counted from the catalog" 4 "$(jqr .summary.runway)"
stop_partd "$PID_partman" || fail "partd stops cleanly" "exit $?"
