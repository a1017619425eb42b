#!/usr/bin/env bash
# Install everything auditapp needs on a fresh Debian machine (idempotent).
#  - Debian packages: a CJK font (Chinese in PDFs), poppler-utils (PDF checks),
#    chromium (browser tests) — installed with apt-get when missing and we are root.
#  - A virtualenv in .venv with the app and its dev dependencies.
#  - axe-core (npm, tests/js) for the accessibility browser test, when npm is there.
#  - Compiled message catalogues (English / Simplified Chinese).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(fonts-noto-cjk fonts-wqy-microhei poppler-utils chromium)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo ">> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "!! Please install these Debian packages: ${missing[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
echo ">> pip install -e .[dev]"
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import auditapp, weasyprint, playwright" >/dev/null

# axe-core for the accessibility browser test (tests/js/package-lock.json pins it)
if command -v npm >/dev/null 2>&1; then
  echo ">> npm ci --prefix tests/js"
  npm ci --prefix tests/js --no-audit --no-fund --silent
else
  echo "!! npm not found: tests/test_accessibility_browser.py will skip (install nodejs + npm)" >&2
fi

if ls auditapp/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then
  bash scripts/i18n.sh compile
fi
echo ">> setup done"
