"""The front door: sends each person to their own landing page."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from ..permissions import landing
from . import bp


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(landing(current_user)))


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}
