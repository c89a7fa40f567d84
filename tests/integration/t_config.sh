# Start-up configuration: --help, bad values stop start-up with one line.
out=$("$PARTD" --help)
check "--help exits 0" 0 "$?"
for v in DATABASE_URL PARTD_LISTEN PARTD_TOKENS_FILE PARTD_POOL_SIZE PARTD_WORKERS \
	PARTD_LOCK_TIMEOUT_MS PARTD_REQUEST_TIMEOUT_MS PARTD_BODY_LIMIT PARTD_MAX_CONNECTIONS \
	PARTD_CONNECTION_TIMEOUT_S; do
	[[ "$out" == *"$v"* ]] && pass "--help lists $v" || fail "--help lists $v"
done
check_match "--help shows defaults" 'default: 127\.0\.0\.1:8080' "$out"

bad_start() { # NAME EXPECTED-REGEX VAR=VALUE...
	local name=$1 re=$2 out rc
	shift 2
	out=$(env "$@" "$PARTD" 2>&1 >/dev/null)
	rc=$?
	check "$name exits 2" 2 "$rc"
	check "$name prints one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	check_match "$name names the problem" "$re" "$out"
}
bad_start "PARTD_POOL_SIZE=0" '^partd: PARTD_POOL_SIZE: .0. is not a whole number from 1 to' PARTD_POOL_SIZE=0
bad_start "PARTD_WORKERS=abc" 'PARTD_WORKERS' PARTD_WORKERS=abc
bad_start "PARTD_LISTEN=nonsense" 'PARTD_LISTEN: .nonsense. is not host:port' PARTD_LISTEN=nonsense
bad_start "PARTD_LOG_LEVEL=loud" 'PARTD_LOG_LEVEL' PARTD_LOG_LEVEL=loud
out=$("$PARTD" --frobnicate 2>&1); check_match "unknown flag is named" 'frobnicate: unknown flag' "$out"
out=$(env PARTD_WORKERS=2 "$PARTD" --workers=999 2>&1); check_match "a flag overrides the environment" '^partd: --workers: .999.' "$out"
printf 'admin bob nothex\n' >"$WORK/badtokens"
bad_start "bad tokens file" "badtokens:1: the third field" PARTD_TOKENS_FILE="$WORK/badtokens"
bad_start "missing tokens file" "PARTD_TOKENS_FILE: cannot read" PARTD_TOKENS_FILE="$WORK/none"
