"""The front door: sends each person to their own landing page."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from ..models import HQ_ADMIN, MANAGER, QA_AUDITOR, SHOPPER
from . import bp

LANDING = {
    HQ_ADMIN: "hq.index",
    QA_AUDITOR: "hq.qa_index",
    MANAGER: "manager.index",
    SHOPPER: "shopper.index",
}


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(LANDING[current_user.role]))


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}
