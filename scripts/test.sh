#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint, then every test on SQLite and on PostgreSQL.
#
# PostgreSQL: CONNECTORHUB_TEST_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
# must be a superuser login; the tests create a throwaway database and a non-superuser role.
# Without PostgreSQL the PostgreSQL tests skip locally, and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
exec .venv/bin/pytest "$@"
