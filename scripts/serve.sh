#!/usr/bin/env bash
# Sets up and starts ConnectorHub on the embedded default (SQLite in ./.connectorhub).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/connectorhub serve "$@"
