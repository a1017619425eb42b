#!/usr/bin/env bash
# Install what is needed, then run the whole test suite on SQLite and on PostgreSQL.
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

echo ">> pytest on SQLite"
$PY -m pytest "$@"

if $PY - "$PG_URL" <<'PY' 2>/dev/null
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
then
  echo ">> pytest on PostgreSQL"
  AUDITAPP_TEST_DATABASE_URL="$PG_URL" $PY -m pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "!! PostgreSQL at $PG_URL is not reachable, and CI needs both databases." >&2
  exit 1
else
  echo "!! PostgreSQL at $PG_URL is not reachable: skipped the PostgreSQL run." >&2
fi
