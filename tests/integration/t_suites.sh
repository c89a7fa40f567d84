# The request pool's own Check suite, against the test cluster.
if [ -z "${POOL_ITEST:-}" ]; then
	fail "POOL_ITEST names the pool test binary (make sets it)"
else
	out=$("$POOL_ITEST" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/       /'
	check "pool suite against PostgreSQL passes" 0 "$rc"
fi
