#!/usr/bin/env bash
# Install, create the database, load the demo chain (first time only) and serve the app
# at http://127.0.0.1:5000 . Set PORT to change the port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi
.venv/bin/flask init-db
.venv/bin/flask seed-demo 2>/dev/null || echo ">> demo data already loaded"
echo ">> open http://127.0.0.1:${PORT:-5000}/  (password for every demo account: demo1234)"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
