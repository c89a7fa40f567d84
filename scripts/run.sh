#!/usr/bin/env bash
# `make run`: partd for real on 127.0.0.1:8080. Without DATABASE_URL it
# starts a local PostgreSQL 15 under .run/pg and loads the demo tables.
# Dev tokens are made once and kept in .run/ (gitignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=$ROOT/.run
mkdir -p "$RUN"

if [[ -z "${DATABASE_URL:-}" ]]; then
	DATABASE_URL=$(tests/scripts/pg_cluster.sh start "$RUN/pg")
	echo "partd: local PostgreSQL at $DATABASE_URL (stop it with 'make stop')" >&2
	start=$(date +%s)
	psql -X -q -v ON_ERROR_STOP=1 -v only_if_missing=1 -f sql/demo/demo_data.sql "$DATABASE_URL" >/dev/null
	echo "partd: demo tables ready in $(($(date +%s) - start)) s" >&2
fi
export DATABASE_URL

# One token per scope, made once. The file partd reads holds only hashes;
# the tokens themselves stay in .run/tokens.env for you to use.
if [[ ! -s "$RUN/tokens.env" ]]; then
	umask 077
	{
		for scope in admin operate read; do
			printf '%s_TOKEN=%s\n' "${scope^^}" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
		done
	} >"$RUN/tokens.env"
fi
# shellcheck source=/dev/null
. "$RUN/tokens.env"
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
{
	echo "# <scope> <name> <sha256-hex-of-token>  (made by scripts/run.sh)"
	echo "admin   dev-admin   $(sha "$ADMIN_TOKEN")"
	echo "operate dev-operate $(sha "$OPERATE_TOKEN")"
	echo "read    dev-read    $(sha "$READ_TOKEN")"
} >"$RUN/tokens"
export PARTD_TOKENS_FILE=${PARTD_TOKENS_FILE:-$RUN/tokens}
export PARTD_LISTEN=${PARTD_LISTEN:-127.0.0.1:8080}
base=http://$PARTD_LISTEN

cat <<MSG

  partd on $base
  admin token: $ADMIN_TOKEN   (operate and read tokens: .run/tokens.env)

  export T=$ADMIN_TOKEN
  curl -s $base/readyz | jq
  curl -s -H "Authorization: Bearer \$T" -X PUT $base/v1/tables/public.platform_analytics -d '{"partition_column":"date"}' | jq .alerts
  curl -s -H "Authorization: Bearer \$T" -H 'Accept: text/plain' $base/v1/tables
  curl -s -H "Authorization: Bearer \$T" $base/v1/jobs | jq
  curl -s -H "Authorization: Bearer \$T" -X POST $base/v1/diagnostics/sleep -d '{"steps":20,"step_ms":500}' | jq
  curl -s -H "Authorization: Bearer \$T" $base/v1/jobs/1 | jq .progress
  curl -s $base/metrics | grep ^partd_

MSG
exec bin/partd
