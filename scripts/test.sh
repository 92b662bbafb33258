#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint, then every test (on SQLite; those marked
# both_backends on PostgreSQL too), on two xdist workers. Extra arguments go to pytest, e.g.
#   scripts/test.sh -m "not slow"      the fast loop (no browser, fuzz, real taps or CLI servers)
#   scripts/test.sh -n 0 tests/cli     one process
# TEST_WORKERS sets the number of workers (default 2).
#
# PostgreSQL: CONNECTORHUB_TEST_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
# must be a superuser login; the tests create a throwaway database and a non-superuser role.
# Without PostgreSQL the PostgreSQL tests skip locally, and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
# loadgroup: tests sharing an expensive fixture (the e2e server, a module's queue database) are
# marked with one xdist_group and run on one worker; the others go wherever a worker is free.
exec .venv/bin/pytest -n "${TEST_WORKERS:-2}" --dist loadgroup "$@"
