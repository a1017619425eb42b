"""Manager: the month-end reports of their stores (issue #22) — each closed month's store
report, built by the month-end run, downloaded from storage."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..extensions import db
from ..models import MonthEndPart
from ..models.month_end import KIND_STORE, PART_DONE
from ..months import is_closed
from ..permissions import Cap, can_see_store, requires
from . import bp


@bp.route("/reports/month-end/<int:part_id>.pdf")
@requires(Cap.VIEW_STORE_RESULTS)
def month_end_pdf(part_id: int):
    """A finished store report of a closed month, for a manager who sees that store."""
    from .. import storage

    part = db.session.get(MonthEndPart, part_id)
    if (part is None or part.kind != KIND_STORE or part.status != PART_DONE
            or not can_see_store(current_user, part.store_id) or not is_closed(part.run.month)):
        abort(404)
    response = storage.send(part.storage_key, "application/pdf", download_name=part.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
