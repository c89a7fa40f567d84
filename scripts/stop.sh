#!/usr/bin/env bash
# `make stop`: stops the local PostgreSQL that `make run` started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -d "$ROOT/.run/pg" ]]; then
	"$ROOT/tests/scripts/pg_cluster.sh" stop "$ROOT/.run/pg"
	echo "local PostgreSQL stopped (data kept in .run/pg)"
else
	echo "no local PostgreSQL under .run/pg"
fi
