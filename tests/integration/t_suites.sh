# The Check suites that need PostgreSQL (tests/integration/suites.h: the
# request pool, archive COPY), against the test cluster.
if [ -z "${DB_ITEST:-}" ]; then
	fail "DB_ITEST names the suites' test binary (make sets it)"
else
	out=$("$DB_ITEST" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/       /'
	check "Check suites against PostgreSQL pass" 0 "$rc"
fi
