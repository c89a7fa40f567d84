# A table whose partitions pg_partman made: partd's status reads the same
# bounds that partman.show_partitions reports.
psql_q "CREATE SCHEMA IF NOT EXISTS partman; CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman" >/dev/null
psql_q "CREATE TABLE public.pm (id bigint NOT NULL, day date NOT NULL) PARTITION BY RANGE (day)" >/dev/null
psql_q "SELECT partman.create_parent('public.pm', 'day', 'native', 'monthly', p_premake := 4)" >/dev/null
start_partd partman PARTD_SCHEDULER_INTERVAL_S=604800 PARTD_PARTITIONS_CACHE_MS=60000 || return
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

# The partition list cache: a change made behind partd's back shows after
# the cache age; partd's own jobs show at once.
api "$PORT_partman" GET /v1/tables/public.pm/partitions "$READ_TOKEN"
n1=$(jqr '.partitions | length')
psql_q "CREATE TABLE public.pm_far PARTITION OF public.pm FOR VALUES FROM ('2040-01-01') TO ('2040-02-01')" >/dev/null
api "$PORT_partman" GET /v1/tables/public.pm/partitions "$READ_TOKEN"
check "a cached list is served within the cache age" "$n1" "$(jqr '.partitions | length')"
api "$PORT_partman" GET '/v1/tables/public.pm/partitions?exact=true' "$READ_TOKEN"
check "?exact=true always reads the catalog" "$((n1 + 1))" "$(jqr '.partitions | length')"
api "$PORT_partman" POST /v1/tables/public.pm/partitions "$OPERATE_TOKEN" '{"from":"2041-01-01","to":"2041-02-01"}'
wait_job "$PORT_partman" "$(jqr .id)" succeeded 20 || fail "partition job on a partman table"
api "$PORT_partman" GET /v1/tables/public.pm/partitions "$READ_TOKEN"
check "partd's own job drops the cached list" "$((n1 + 2))" "$(jqr '.partitions | length')"
stop_partd "$PID_partman" || fail "partd stops cleanly" "exit $?"
