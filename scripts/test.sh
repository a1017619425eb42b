#!/usr/bin/env bash
# Install what is needed, then run the whole test suite on SQLite and on PostgreSQL
# (side by side when PostgreSQL is reachable).
#   PG_URL   PostgreSQL server URL for the second run
#            (default postgresql://postgres@127.0.0.1:5432/test; a fresh database is
#             created inside it for the run and dropped afterwards).
# Extra arguments go to pytest (e.g. scripts/test.sh -k scoring).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

PY=.venv/bin/python
PG_URL=${PG_URL:-postgresql://postgres@127.0.0.1:5432/test}

echo ">> ruff"
.venv/bin/ruff check .

if $PY - "$PG_URL" <<'PY' 2>/dev/null
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
then
  # The two runs share nothing (a SQLite file per test, a fresh PostgreSQL database, free
  # ports, unique queue names), so they run side by side: one per core, about half the time.
  logs=$(mktemp -d)
  echo ">> pytest on SQLite and on PostgreSQL, side by side (logs in $logs)"
  $PY -m pytest "$@" >"$logs/sqlite.log" 2>&1 & sqlite_pid=$!
  AUDITAPP_TEST_DATABASE_URL="$PG_URL" $PY -m pytest "$@" >"$logs/postgresql.log" 2>&1 & pg_pid=$!
  sqlite_rc=0; pg_rc=0
  wait $sqlite_pid || sqlite_rc=$?
  wait $pg_pid || pg_rc=$?
  echo ">> pytest on SQLite (exit $sqlite_rc)"; cat "$logs/sqlite.log"
  echo ">> pytest on PostgreSQL (exit $pg_rc)"; cat "$logs/postgresql.log"
  [ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
elif [ "${CI:-}" = "true" ]; then
  echo "!! PostgreSQL at $PG_URL is not reachable, and CI needs both databases." >&2
  exit 1
else
  echo "!! PostgreSQL at $PG_URL is not reachable: skipped the PostgreSQL run." >&2
  echo ">> pytest on SQLite"
  $PY -m pytest "$@"
fi
