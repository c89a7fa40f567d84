#!/usr/bin/env bash
# Lints openapi/openapi.yaml with the pinned @redocly/cli (openapi/package.json).
set -euo pipefail
cd "$(dirname "$0")/../openapi"
if [[ ! -x node_modules/.bin/redocly ]]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	node_modules/.bin/redocly lint --config redocly.yaml openapi.yaml
