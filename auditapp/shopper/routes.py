"""Mystery shoppers: their assignments and the audit form (see issue #3)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import SHOPPER, Visit
from ..security import roles_required
from . import bp


@bp.route("/")
@roles_required(SHOPPER)
def index():
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.evaluator_id == current_user.id)
        .order_by(Visit.month.desc(), Visit.id)
    ).all()
    return render_template("shopper/index.html", visits=visits)
