"""HQ: corrective actions of every store (verify what managers marked done, see what is
overdue) and which stores have not yet read their released results (issue #5)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import followup
from ..extensions import db
from ..models import CorrectiveAction
from ..models.followup import ACTION_DONE, ACTION_OPEN, ACTION_STATUSES
from ..permissions import Cap, requires
from . import bp

FILTERS = ("active", "overdue", *ACTION_STATUSES, "all")


class VerifyForm(FlaskForm):
    """Buttons only (verify / reopen): CSRF."""


@bp.route("/actions")
@requires(Cap.DECIDE_FOLLOW_UP)
def actions():
    show = request.args.get("show", "active")
    if show not in FILTERS:
        show = "active"
    statuses = {
        "active": (ACTION_OPEN, ACTION_DONE),
        "overdue": (ACTION_OPEN,),
        "done": (ACTION_DONE,),
        "all": None,
    }.get(show, (show,))
    rows = db.session.scalars(followup.actions_query(None, statuses)).all()
    if show == "overdue":
        rows = [r for r in rows if followup.is_overdue(r)]
    return render_template(
        "hq/actions.html",
        rows=rows,
        show=show,
        filters=FILTERS,
        overdue=followup.overdue_count(),
        is_overdue=followup.is_overdue,
        unread=followup.unread_by_store(),
        form=VerifyForm(),
    )


@bp.route("/actions/<int:action_id>/verify", methods=["POST"])
@requires(Cap.DECIDE_FOLLOW_UP)
def verify_action(action_id: int):
    row = db.get_or_404(CorrectiveAction, action_id)
    if not VerifyForm().validate_on_submit():
        flash(_("Your session has expired. Reload the page and try again."), "error")
        return redirect(url_for(".actions"))
    reopen = request.form.get("reopen") == "1"
    try:
        followup.verify_action(row, current_user, reopen=reopen)
    except followup.FollowupError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Action sent back to the store.") if reopen else _("Action verified."),
              "success")
    return redirect(url_for(".actions", show=request.form.get("show", "active")))
