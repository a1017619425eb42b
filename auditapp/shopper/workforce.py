"""A shopper's own pages (issue #20): their profile (home area, payout details,
unavailable dates), their reports and pay (read-only; the grade only if HQ shares it), and
the certification quiz."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from .. import integrity_questions, payments, shoppers
from ..extensions import db
from ..models import ReportGrade, Visit, VisitPay
from ..models.visit import MYSTERY
from ..permissions import Cap, requires
from . import bp


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read from the request."""


@bp.app_template_global()
def quizzes_to_take() -> list[str]:
    """Questionnaire codes whose quiz the signed-in shopper still has to pass."""
    if not getattr(current_user, "is_authenticated", False) or \
            getattr(current_user, "role", None) != "shopper":
        return []
    return shoppers.quizzes_to_take(current_user)


@bp.app_template_global()
def integrity_questions_for(visit: Visit) -> list:
    """The integrity questions the form asks for ``visit`` (mystery visits of our stores)."""
    if visit.store_id is None or visit.kind != MYSTERY:
        return []
    return integrity_questions.questions(visit.questionnaire.code)


@bp.route("/profile", methods=["GET", "POST"])
@requires(Cap.SHOP_VISITS)
def profile():
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for("shopper.profile"), code=303)
        action = request.form.get("action", "profile")
        try:
            if action == "profile":
                fields = (*shoppers.HOME_FIELDS, *shoppers.PAYOUT_FIELDS)
                shoppers.update_profile(current_user, {k: request.form.get(k, "")[:120]
                                                       for k in fields},
                                        current_user.id, fields)
                message = _("Profile saved.")
            elif action == "unavailable":
                first = _day(request.form.get("first"))
                last = _day(request.form.get("last")) or first
                if first is None:
                    raise shoppers.ShopperError(_("Give the first day as YYYY-MM-DD."))
                n = shoppers.set_unavailable(current_user, first, last, current_user.id)
                message = _("%(n)s days marked unavailable.", n=n)
            elif action == "available":
                day = _day(request.form.get("day"))
                if day is None:
                    abort(400)
                shoppers.clear_unavailable(current_user, day, current_user.id)
                message = _("You are available again on %(day)s.", day=day.isoformat())
            else:
                abort(400)
        except shoppers.ShopperError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("shopper.profile"), code=303)
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("shopper.profile"), code=303)
    return render_template(
        "shopper/profile.html", profile=shoppers.profile_of(current_user),
        unavailable=[d for d in shoppers.unavailable_days(current_user.id)
                     if d >= date.today()], form=CsrfForm(formdata=None))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


@bp.route("/history")
@requires(Cap.SHOP_VISITS)
def history():
    """The shopper's submitted reports with status, grade (when HQ shares it) and pay."""
    rows = list(db.session.execute(
        select(Visit, ReportGrade, VisitPay)
        .outerjoin(ReportGrade, ReportGrade.visit_id == Visit.id)
        .outerjoin(VisitPay, VisitPay.visit_id == Visit.id)
        .where(Visit.evaluator_id == current_user.id, Visit.submitted_at.is_not(None))
        .order_by(Visit.submitted_at.desc())))
    return render_template("shopper/history.html", rows=rows, share_grade=shoppers.grades_shared(),
                           statement=payments.statement(current_user))


@bp.route("/quiz/<code>", methods=["GET", "POST"])
@requires(Cap.SHOP_VISITS)
def quiz(code: str):
    questions = shoppers.quiz_questions(code)
    if not questions:
        abort(404)
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for("shopper.quiz", code=code), code=303)
        answers: dict[int, int] = {}
        for q in questions:
            value = request.form.get(f"q-{q.id}", "")
            if value.isdigit():
                answers[q.id] = int(value)
        try:
            attempt = shoppers.take_quiz(current_user, code, answers)
        except shoppers.ShopperError as error:
            flash(str(error), "error")
            return render_template("shopper/quiz.html", code=code, questions=questions,
                                   form=CsrfForm(formdata=None), chosen=answers), 400
        db.session.commit()
        if attempt.passed:
            flash(_("Passed: %(right)s of %(total)s correct. You can now be given visits.",
                    right=attempt.correct, total=attempt.total), "success")
            return redirect(url_for("shopper.index"), code=303)
        flash(_("Not passed: %(right)s of %(total)s correct. Read the rules and try again.",
                right=attempt.correct, total=attempt.total), "error")
        return redirect(url_for("shopper.quiz", code=code), code=303)
    return render_template("shopper/quiz.html", code=code, questions=questions,
                           form=CsrfForm(formdata=None), chosen={},
                           certified=shoppers.is_certified(current_user.id, code))
