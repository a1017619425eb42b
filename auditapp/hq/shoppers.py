"""HQ: shoppers as a workforce (issue #20): the report grade on the review page, the
shoppers list (sortable), a shopper's profile with standing and payout details, the
certification quiz and the integrity questions of a questionnaire. HQ only."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from .. import integrity_questions, params, payments, settings, shoppers
from ..extensions import db
from ..models import Questionnaire, ReportGrade, Store, Visit
from ..models.questionnaire import KIND_MYSTERY
from ..models.shopper import STANDINGS
from ..permissions import Cap, requires
from . import bp


class CsrfForm(FlaskForm):
    """Only the CSRF token; the fields are read from the request."""


@bp.app_template_global()
def report_grade_panel(visit: Visit) -> dict | None:
    """What the review page's grade partial shows (None: not a gradable report)."""
    if visit.kind not in shoppers.SHOPPER_KINDS:
        return None
    return {"grade": shoppers.grade_of(visit.id), "reasons": shoppers.GRADE_REASONS,
            "gradable": visit.status in shoppers.GRADABLE_STATUSES,
            "form": CsrfForm(formdata=None), "pay": payments.pay_row(visit.id),
            "integrity_answers": integrity_questions.answers_of(visit.id)}


@bp.app_template_global()
def pay_status_label(status: str) -> str:
    return str(payments.PAY_STATUS_LABELS.get(status, status))


@bp.app_template_global()
def shopper_flag_label(flag: str) -> str:
    return str({**shoppers.FLAG_LABELS, **shoppers.STANDING_LABELS}.get(flag, flag))


@bp.post("/visits/<int:visit_id>/grade")
@requires(Cap.REVIEW_VISITS)
def visit_grade(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    back = url_for("hq.visit_detail", visit_id=visit.id) + "#grade"
    if not CsrfForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(back, code=303)
    try:
        grade = int(request.form.get("grade", ""))
    except ValueError:
        grade = 0
    try:
        shoppers.grade_report(visit, current_user, grade, request.form.getlist("reasons"))
    except shoppers.ShopperError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(_("Report graded %(grade)s/10.", grade=grade), "success")
    return redirect(back, code=303)


@bp.route("/shoppers")
@requires(Cap.MANAGE_MASTERDATA)
def shoppers_list():
    period, month_text, month_error = params.month_for_page()
    sort = request.args.get("sort", "code")
    if sort not in shoppers.SORT_KEYS:
        sort = "code"
    descending = request.args.get("dir", "asc") == "desc"
    rows = shoppers.sort_figures(shoppers.figures(period), sort, descending)
    codes = sorted(set(db.session.scalars(select(Questionnaire.code).where(
        Questionnaire.kind == KIND_MYSTERY))))
    return render_template("hq/shoppers/list.html", rows=rows, sort=sort, descending=descending,
                           period=period, month_text=month_text, month_error=month_error,
                           window=shoppers.leniency_window(period), codes=codes,
                           share_grade=shoppers.grades_shared(), form=CsrfForm(formdata=None))


@bp.post("/shoppers/settings")
@requires(Cap.MANAGE_SETTINGS)
def shoppers_settings():
    """Whether shoppers see their reports' grades (an HQ setting)."""
    if not CsrfForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
    else:
        shared = request.form.get("share_grade") == "1"
        settings.save_setting(shoppers.HISTORY_KEY, {"share_grade": shared}, current_user.id)
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("hq.shoppers_list"), code=303)


def _shopper_or_404(user_id: int):
    user = shoppers.shopper_or_none(user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/shoppers/<int:user_id>")
@requires(Cap.MANAGE_MASTERDATA)
def shopper_profile(user_id: int):
    user = _shopper_or_404(user_id)
    period, month_text, month_error = params.month_for_page()
    figures = shoppers.figures(period, [user.id])[0]
    reports = list(db.session.execute(
        select(Visit, ReportGrade).outerjoin(ReportGrade, ReportGrade.visit_id == Visit.id)
        .where(Visit.evaluator_id == user.id, Visit.submitted_at.is_not(None))
        .order_by(Visit.submitted_at.desc()).limit(50)))
    return render_template(
        "hq/shoppers/profile.html", user=user, f=figures, reports=reports,
        profile=shoppers.profile_of(user), standings=STANDINGS,
        standing_labels=shoppers.STANDING_LABELS, reasons=shoppers.GRADE_REASONS,
        unavailable=[d for d in shoppers.unavailable_days(user.id) if d >= date.today()],
        statement=payments.statement(user), form=CsrfForm(formdata=None),
        period=period, month_text=month_text, month_error=month_error,
        window=shoppers.leniency_window(period),
        certified=sorted(shoppers.certified_codes(user.id)))


@bp.post("/shoppers/<int:user_id>/standing")
@requires(Cap.MANAGE_MASTERDATA)
def shopper_standing(user_id: int):
    user = _shopper_or_404(user_id)
    back = url_for("hq.shopper_profile", user_id=user.id)
    if not CsrfForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(back, code=303)
    try:
        shoppers.set_standing(user, request.form.get("standing", ""),
                              request.form.get("reason", "")[:2000], current_user.id)
    except shoppers.ShopperError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(_("Standing saved."), "success")
    return redirect(back, code=303)


@bp.post("/shoppers/<int:user_id>/payout")
@requires(Cap.MANAGE_MASTERDATA)
def shopper_payout(user_id: int):
    user = _shopper_or_404(user_id)
    if not CsrfForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
    else:
        values = {k: request.form.get(k, "")[:120] for k in
                  (*shoppers.PAYOUT_FIELDS, *shoppers.HOME_FIELDS)}
        shoppers.update_profile(user, values, current_user.id,
                                (*shoppers.PAYOUT_FIELDS, *shoppers.HOME_FIELDS))
        db.session.commit()
        flash(_("Profile saved."), "success")
    return redirect(url_for("hq.shopper_profile", user_id=user.id), code=303)


# --- certification quiz and integrity questions of a questionnaire ------------------------------


def _questionnaire_code_or_404(code: str) -> str:
    found = db.session.scalar(select(Questionnaire.code).where(Questionnaire.code == code)
                              .limit(1))
    if found is None:
        abort(404)
    return found


@bp.route("/questionnaires/<code>/quiz", methods=["GET", "POST"])
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_quiz(code: str):
    code = _questionnaire_code_or_404(code)
    form = CsrfForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form expired; please try again."), "error")
            return redirect(url_for("hq.questionnaire_quiz", code=code), code=303)
        action = request.form.get("action", "")
        try:
            if action == "settings":
                shoppers.save_quiz_setting(code, request.form.get("required") == "1",
                                           _int(request.form.get("pass_mark")), current_user.id)
            elif action == "add":
                options = shoppers.parse_options(request.form.get("options", "")[:4000])
                shoppers.add_quiz_question(code, request.form.get("text", "")[:2000], options,
                                           _int(request.form.get("correct")) - 1,
                                           current_user.id)
            elif action == "delete":
                question = next((q for q in shoppers.quiz_questions(code)
                                 if q.id == _int(request.form.get("question_id"))), None)
                if question is None:
                    abort(404)
                shoppers.delete_quiz_question(question, current_user.id)
            elif action == "integrity_add":
                options = shoppers.parse_options(request.form.get("options", "")[:4000])
                integrity_questions.add_question(code, request.form.get("text", "")[:2000],
                                                 options, current_user.id)
            elif action == "integrity_delete":
                integrity_questions.deactivate(
                    code, _int(request.form.get("question_id")), current_user.id)
            else:
                abort(400)
        except (shoppers.ShopperError, integrity_questions.IntegrityQuestionError) as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("hq.questionnaire_quiz", code=code), code=303)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("hq.questionnaire_quiz", code=code), code=303)
    return render_template("hq/shoppers/quiz.html", code=code, form=CsrfForm(formdata=None),
                           setting=shoppers.quiz_setting(code),
                           questions=shoppers.quiz_questions(code),
                           integrity=integrity_questions.questions(code))


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 0


@bp.route("/integrity-answers", methods=["GET", "POST"])
@requires(Cap.MANAGE_QUESTIONNAIRES)
def integrity_truths():
    """The correct answer of each integrity question, per store and month."""
    period = params.month("month") if request.args.get("month") else None
    month = period.label if period else f"{date.today():%Y-%m}"
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            flash(_("The form expired; please try again."), "error")
        else:
            answers: dict[tuple[int, int], int | None] = {}
            for key, value in request.form.items():
                if key.startswith("truth-"):
                    try:
                        qid, sid = (int(x) for x in key[6:].split("-"))
                    except ValueError:
                        abort(400)
                    answers[(qid, sid)] = int(value) if value.isdigit() else None
            try:
                changed = integrity_questions.record_truths(month, answers, current_user.id)
            except integrity_questions.IntegrityQuestionError as error:
                db.session.rollback()
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(_("%(n)s answers saved.", n=changed), "success")
        return redirect(url_for("hq.integrity_truths", month=month), code=303)
    stores = list(db.session.scalars(select(Store).where(Store.active.is_(True))
                                     .order_by(Store.code)))
    return render_template("hq/shoppers/truths.html", month=month, stores=stores,
                           questions=integrity_questions.all_active(),
                           truths=integrity_questions.truths(month),
                           form=CsrfForm(formdata=None))
