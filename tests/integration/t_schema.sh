# Two partds starting at once on a fresh database both come up; the control
# schema is applied once and recorded.
psql_q "DROP DATABASE IF EXISTS partd_race" >/dev/null
psql_q "CREATE DATABASE partd_race" >/dev/null
RACE_URL=${DATABASE_URL%/*}/partd_race
p1=$(free_port); p2=$(free_port)
for p in "$p1" "$p2"; do
	env DATABASE_URL="$RACE_URL" PARTD_TOKENS_FILE="$WORK/tokens" PARTD_LISTEN="127.0.0.1:$p" \
		"$PARTD" >>"$WORK/partd-race-$p.log" 2>&1 &
	PIDS+=("$!")
	eval "race_$p=$!"
done
wait_ready "$p1" 15 && pass "first of two simultaneous partds ready" || fail "first partd ready"
wait_ready "$p2" 15 && pass "second of two simultaneous partds ready" || fail "second partd ready"
expected=$(ls "$ROOT"/sql/control/*.sql | wc -l)
check "every control migration recorded once" "$expected $expected" \
	"$(psql "$RACE_URL" -XAtq -F' ' -c 'SELECT count(*), count(DISTINCT version) FROM partd.schema_version')"
eval "stop_partd \$race_$p1" || fail "partd stops cleanly"
eval "stop_partd \$race_$p2" || fail "partd stops cleanly"
