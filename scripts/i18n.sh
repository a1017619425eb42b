#!/usr/bin/env bash
# Message catalogues (Flask-Babel): English source strings, Simplified Chinese translation.
#   scripts/i18n.sh update    extract strings from code and templates, merge into zh_CN
#   scripts/i18n.sh compile   compile the catalogues (.po → .mo); setup.sh does this too
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
[ -x "$PYBABEL" ] || PYBABEL=pybabel
case "${1:-}" in
  update)
    "$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --sort-by-file \
      --no-wrap -o messages.pot .
    if [ -f auditapp/translations/zh_CN/LC_MESSAGES/messages.po ]; then
      "$PYBABEL" -q update --no-wrap --no-fuzzy-matching --ignore-obsolete -i messages.pot -d auditapp/translations
    else
      "$PYBABEL" -q init --no-wrap -i messages.pot -d auditapp/translations -l zh_CN
    fi
    rm -f messages.pot
    ;;
  compile)
    "$PYBABEL" -q compile -d auditapp/translations
    ;;
  *)
    echo "usage: scripts/i18n.sh update|compile" >&2
    exit 2
    ;;
esac
