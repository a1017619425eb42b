"""HQ: the audit trail — who changed what, when, from what to what — filterable by entity
(visit, dispute, questionnaire, setting, …) and entity id."""

from __future__ import annotations

import json

from flask import render_template
from flask_babel import gettext as _

from .. import audit, params
from ..i18n import STATUS_LABELS, label
from ..permissions import Cap, requires
from . import bp

PER_PAGE = 50


def _value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if value is None:
        return "–"
    if key == "status" and isinstance(value, str):
        return label(STATUS_LABELS, value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _compact(value: dict | None) -> str:
    """A before/after snapshot as ``field: value`` pairs, one per line (booleans and visit
    statuses in the reader's language)."""
    if not value:
        return ""
    return "\n".join(f"{key}: {_value(key, value[key])}" for key in sorted(value))


@bp.route("/audit")
@requires(Cap.VIEW_AUDIT_TRAIL)
def audit_log():
    entity = params.text("entity")[:40]
    entity_id = params.text("entity_id")[:40]
    action = params.text("action")[:40]
    page = params.page()
    rows = audit.trail(entity=entity, entity_id=entity_id, action=action,
                       limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    entities = audit.entities()
    return render_template(
        "hq/audit.html",
        rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE, page=page, entities=entities,
        entity=entity, entity_id=entity_id, action=action, compact=_compact,
    )
