"""HQ: the audit trail — who changed what, when, from what to what — filterable by entity
(visit, dispute, questionnaire, setting, …) and entity id."""

from __future__ import annotations

import json

from flask import render_template, request

from .. import audit
from ..permissions import Cap, requires
from . import bp

PER_PAGE = 50


def _compact(value: dict | None) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@bp.route("/audit")
@requires(Cap.VIEW_AUDIT_TRAIL)
def audit_log():
    entity = (request.args.get("entity") or "").strip()[:40]
    entity_id = (request.args.get("entity_id") or "").strip()[:40]
    action = (request.args.get("action") or "").strip()[:40]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = audit.trail(entity=entity, entity_id=entity_id, action=action,
                       limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    entities = audit.entities()
    return render_template(
        "hq/audit.html",
        rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE, page=page, entities=entities,
        entity=entity, entity_id=entity_id, action=action, compact=_compact,
    )
