"""HQ: the monthly mystery-shop schedule — preview, generate, reassign.

The rules live in ``auditapp.scheduling``. The shopper's link is the absolute URL of the
shopper's token route ``/shopper/t/<token>`` (built by ``shopper_link`` from the shopper
blueprint's ``token_form`` endpoint, so the two cannot drift apart).
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from .. import scheduling
from ..extensions import db
from ..models import SHOPPER, Store, User, Visit
from ..models.visit import MYSTERY
from ..permissions import Cap, requires
from ..visit_states import TransitionError
from . import bp
from .forms import MonthForm, ReassignForm


def shopper_link(token: str | None) -> str:
    """Absolute URL of a shopper's assignment link (``/shopper/t/<token>``)."""
    if not token:
        return ""
    return url_for("shopper.token_form", token=token, _external=True)


def _default_month() -> str:
    today = date.today()
    return scheduling.shift_month(f"{today:%Y-%m}", 1)


def _month_visits(month: str) -> list[Visit]:
    return list(db.session.scalars(
        select(Visit).join(Store, Visit.store_id == Store.id)
        .where(Visit.kind == MYSTERY, Visit.month == month).order_by(Store.code)
    ))


@bp.route("/scheduling", methods=["GET", "POST"], endpoint="scheduling")
@requires(Cap.SCHEDULE_VISITS)
def scheduling_page():
    form = MonthForm(request.values if request.values.get("month") else None)
    if not form.month.data:
        form.month.data = _default_month()
    month = form.month.data
    plan = None
    if form.validate():
        if request.method == "POST":
            plan = scheduling.generate_month(month, current_user.id)
            db.session.commit()
            if plan.created:
                flash(ngettext("%(num)d visit scheduled for %(m)s.",
                               "%(num)d visits scheduled for %(m)s.", len(plan.created), m=month),
                      "success")
            else:
                flash(_("Nothing new to schedule for %(m)s.", m=month), "info")
            if plan.unscheduled:
                flash(ngettext("%(num)d store could not be scheduled; see below.",
                               "%(num)d stores could not be scheduled; see below.",
                               len(plan.unscheduled)), "error")
            return redirect(url_for("hq.scheduling", month=month))
        plan = scheduling.plan_month(month)
    visits = _month_visits(month) if not form.errors else []
    return render_template("hq/scheduling/index.html", form=form, month=month, plan=plan,
                           visits=visits, link=shopper_link,
                           reassignable=scheduling.REASSIGNABLE_STATUSES), \
        (422 if form.errors else 200)


@bp.route("/scheduling/visits/<int:visit_id>/reassign", methods=["GET", "POST"])
@requires(Cap.SCHEDULE_VISITS)
def scheduling_reassign(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    if visit.kind != MYSTERY or visit.store is None:
        return redirect(url_for("hq.scheduling", month=visit.month))
    form = ReassignForm()
    shoppers = list(db.session.scalars(
        select(User).where(User.role == SHOPPER, User.active.is_(True))
        .order_by(User.username)
    ))
    form.shopper_id.choices = [(u.id, u.pseudonym) for u in shoppers
                               if u.id != visit.evaluator_id]
    workforce = scheduling.workforce_rules.scheduling_facts()  # issue #20: read once
    eligibility = {u.id: scheduling.ineligibility(u, visit.store, visit.month,
                                                  workforce=workforce,
                                                  questionnaire_code=visit.questionnaire.code)
                   for u in shoppers}
    status = 422
    if form.validate_on_submit():
        shopper = db.session.get(User, form.shopper_id.data)
        try:
            scheduling.reassign(visit, shopper, current_user.id)
        except (scheduling.SchedulingError, TransitionError) as error:
            db.session.rollback()
            form.shopper_id.errors.append(str(error))
            status = 409 if isinstance(error, TransitionError) else 422
        else:
            db.session.commit()
            flash(_("Visit to %(store)s reassigned to %(user)s; the old link no longer works.",
                    store=visit.store.code, user=shopper.pseudonym), "success")
            return redirect(url_for("hq.scheduling", month=visit.month))
    return render_template("hq/scheduling/reassign.html", visit=visit, form=form,
                           shoppers=shoppers, eligibility=eligibility,
                           can_reassign=visit.status in scheduling.REASSIGNABLE_STATUSES), \
        (status if form.errors else 200)
