"""Store managers: their stores' figures and released audits, corrective actions, disputes
and acknowledgements (issue #5).

Nothing here may reveal who the shopper was: the views never pass the evaluator (or the
check-in location) to a template. Every object is looked up through ``_my_visit`` /
``_my_store``, which answer 404 for another store's objects and for unreleased visits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import analytics, charts, followup, params, scoring
from ..extensions import db
from ..models import Answer, CorrectiveAction, Dispute, Region, Store, Visit
from ..models.followup import ACTION_DONE, ACTION_OPEN, DISPUTE_OPEN
from ..permissions import Cap, requires, visible_store_ids, visible_stores, visible_visits
from . import bp
from .forms import ActionForm, DisputeForm, SimpleForm

# --- lookups that enforce "own stores, released visits only" -------------------------------


def _my_store(store_id: int) -> Store:
    store = db.session.scalar(visible_stores(current_user).where(Store.id == store_id))
    if store is None:
        abort(404)
    return store


def _my_visit(visit_id: int) -> Visit:
    visit = db.session.scalar(visible_visits(current_user).where(Visit.id == visit_id))
    if visit is None:
        abort(404)
    return visit


def _my_answer(visit: Visit, answer_id: int | None) -> Answer:
    answer = db.session.get(Answer, answer_id) if answer_id else None
    if answer is None or answer.visit_id != visit.id:
        abort(404)
    return answer


# --- my stores -----------------------------------------------------------------------------


@dataclass
class StoreCard:
    store: Store
    score: analytics.StoreScore | None
    chart: str
    dimensions: list[tuple[str, float | None, float | None, float | None]]
    rank: tuple[int, int] | None
    open_actions: int = 0
    overdue: int = 0
    unread: int = 0
    visits: list[Visit] = field(default_factory=list)


def _store_cards(stores: list[Store], period: analytics.Period) -> list[StoreCard]:
    """The cards of ``stores``: the same number of queries for one card or fifty."""
    ids = [s.id for s in stores]
    # the cards name each store's region: load them at once (the identity map then answers)
    db.session.scalars(select(Region).where(Region.id.in_({s.region_id for s in stores}))).all()
    scores = {
        s.store_id: s
        for s in analytics.store_scores(
            period, store_ids=ids, with_trend=True, include_inactive=True
        )
    }
    by_store = analytics.dimension_means(period, by="store", store_ids=ids)
    by_region = analytics.dimension_means(period, by="region")
    brand = analytics.dimension_means(period, by="brand").get(None, {})
    ranks = analytics.region_ranks(period, ids)
    series_of = analytics.store_trend_series(period, 12, ids)
    actions = analytics.action_counts(ids, followup.utcnow().date())
    cards = []
    for store in stores:
        series = series_of[store.id]
        mine, region = by_store.get(store.id, {}), by_region.get(store.region_id, {})
        cards.append(
            StoreCard(
                store=store,
                score=scores.get(store.id),
                chart=charts.line_chart(
                    series,
                    title=_("BDI of %(store)s, last 12 months", store=store.name),
                    width=360,
                    height=170,
                ),
                dimensions=[
                    (d, mine.get(d), region.get(d), brand.get(d)) for d in scoring.DIMENSIONS
                ],
                rank=ranks.get(store.id),
                open_actions=actions[store.id][0],
                overdue=actions[store.id][1],
            )
        )
    return cards


@bp.route("/")
@requires(Cap.VIEW_STORE_RESULTS)
def index():
    period, month_value, month_error = params.month_for_page()
    cards = _store_cards(list(db.session.scalars(visible_stores(current_user))), period)
    return render_template(
        "manager/index.html", period=period, cards=cards, month_error=month_error,
        month_value=month_value,
    )


@bp.route("/stores/<int:store_id>")
@requires(Cap.VIEW_STORE_RESULTS)
def store(store_id: int):
    store = _my_store(store_id)
    period, month_value, month_error = params.month_for_page()
    card = _store_cards([store], period)[0]
    visits = db.session.scalars(
        visible_visits(current_user)
        .where(Visit.store_id == store.id, Visit.counted)
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
    ).all()
    return render_template(
        "manager/store.html", store=store, period=period, card=card, visits=visits,
        month_error=month_error, month_value=month_value,
    )


# --- audit detail --------------------------------------------------------------------------


@dataclass
class ItemRow:
    answer: Answer
    disputes: list[Dispute]
    actions: list[CorrectiveAction]
    photos: list
    target: tuple[float, float] | None = None

    @property
    def item(self):
        return self.answer.item

    @property
    def critical_failure(self) -> bool:
        return self.answer.item.critical and self.answer.failed

    @property
    def open_dispute(self) -> Dispute | None:
        return next((d for d in self.disputes if d.status == DISPUTE_OPEN), None)


def _item_rows(visit: Visit) -> list[tuple[str, float | None, list[ItemRow]]]:
    """Per dimension (questionnaire order): its score and its items, critical failures
    first, then other failures, then the rest."""
    disputes = db.session.scalars(
        select(Dispute).where(Dispute.visit_id == visit.id).order_by(Dispute.id)
    ).all()
    actions = db.session.scalars(
        select(CorrectiveAction)
        .where(CorrectiveAction.visit_id == visit.id)
        .order_by(CorrectiveAction.id)
    ).all()
    dim_scores = {ds.dimension: ds.score for ds in visit.dimension_scores}
    out = []
    for dimension in visit.questionnaire.dimensions:
        rows = []
        for item in dimension.items:
            answer = visit.answer_for(item.id)
            if answer is None:
                continue
            rows.append(
                ItemRow(
                    answer=answer,
                    disputes=[d for d in disputes if d.answer_id == answer.id],
                    actions=[a for a in actions if a.answer_id == answer.id],
                    photos=[p for p in visit.photos if p.item_id == item.id],
                    target=item.target_limit(visit.visit_type)
                    if item.timed_targets else None,
                )
            )
        rows.sort(key=lambda r: (not r.critical_failure, not r.answer.failed))
        out.append((dimension.code, dim_scores.get(dimension.code), rows))
    return out


def _render_detail(
    visit: Visit, *, action_form=None, dispute_form=None, page_error: str | None = None,
    status: int = 200,
):
    dims = _item_rows(visit)
    rows = [r for _, _, rs in dims for r in rs]
    failed_answer = None
    if action_form is not None:
        failed_answer = action_form.answer_id.data
    disputed_answer = dispute_form.answer_id.data if dispute_form is not None else None
    action_forms = {
        r.answer.id: action_form
        if r.answer.id == failed_answer
        else ActionForm(formdata=None, answer_id=r.answer.id, prefix=f"a{r.answer.id}")
        for r in rows
        if r.answer.failed
    }
    dispute_forms = {
        r.answer.id: dispute_form
        if r.answer.id == disputed_answer
        else DisputeForm(formdata=None, answer_id=r.answer.id, prefix=f"d{r.answer.id}")
        for r in rows
    }
    return (
        render_template(
            "manager/visit.html",
            visit=visit,
            store=visit.store,
            dims=dims,
            critical=[r for r in rows if r.critical_failure],
            failed_count=sum(1 for r in rows if r.answer.failed),
            general_photos=[p for p in visit.photos if p.item_id is None],
            window_open=followup.dispute_window_open(visit),
            deadline=followup.dispute_deadline(visit),
            action_forms=action_forms,
            dispute_forms=dispute_forms,
            open_form=failed_answer or disputed_answer,
            page_error=page_error,
            simple_form=SimpleForm(),
            today=followup.utcnow().date(),
            is_overdue=followup.is_overdue,
        ),
        status,
    )


@bp.route("/visits/<int:visit_id>")
@requires(Cap.VIEW_STORE_RESULTS)
def visit(visit_id: int):
    return _render_detail(_my_visit(visit_id))


def _prefixed(kind: str) -> str:
    """The prefix of the per-item form that was posted (``a12`` / ``d12``)."""
    answer_id = request.form.get("answer_id", "")
    for key in request.form:
        if key.startswith(kind) and key.endswith("-answer_id"):
            return key[: -len("-answer_id")]
    return f"{kind}{answer_id}"


@bp.route("/visits/<int:visit_id>/actions", methods=["POST"])
@requires(Cap.FOLLOW_UP)
def add_action(visit_id: int):
    visit = _my_visit(visit_id)
    form = ActionForm(prefix=_prefixed("a"))
    page_error = None
    if form.validate():
        answer = _my_answer(visit, form.answer_id.data)
        try:
            followup.add_action(
                visit, answer, form.action.data, form.owner.data, form.due_date.data,
                current_user,
            )
        except followup.FollowupError as error:
            page_error = str(error)
        else:
            db.session.commit()
            flash(_("Corrective action recorded."), "success")
            return redirect(url_for(".visit", visit_id=visit.id, _anchor=f"item-{answer.id}"))
    db.session.rollback()
    return _render_detail(visit, action_form=form, page_error=page_error, status=400)


@bp.route("/actions/<int:action_id>/done", methods=["POST"])
@requires(Cap.FOLLOW_UP)
def action_done(action_id: int):
    row = db.session.get(CorrectiveAction, action_id)
    if row is None:
        abort(404)
    visit = _my_visit(row.visit_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    try:
        followup.mark_action_done(row, current_user)
    except followup.FollowupError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Action marked done. HQ will verify it."), "success")
    target = request.form.get("next")
    if target == "actions":
        return redirect(url_for(".actions"))
    return redirect(url_for(".visit", visit_id=visit.id, _anchor=f"item-{row.answer_id}"))


@bp.route("/actions")
@requires(Cap.FOLLOW_UP)
def actions():
    ids = list(db.session.scalars(visible_store_ids(current_user)))
    rows = db.session.scalars(followup.actions_query(ids)).all()
    return render_template(
        "manager/actions.html",
        open_rows=[r for r in rows if r.status in (ACTION_OPEN, ACTION_DONE)],
        closed_rows=[r for r in rows if r.status not in (ACTION_OPEN, ACTION_DONE)],
        is_overdue=followup.is_overdue,
        overdue=followup.overdue_count(ids),
        simple_form=SimpleForm(),
    )


@bp.route("/visits/<int:visit_id>/disputes", methods=["POST"])
@requires(Cap.FOLLOW_UP)
def file_dispute(visit_id: int):
    visit = _my_visit(visit_id)
    form = DisputeForm(prefix=_prefixed("d"))
    page_error = None
    if form.validate():
        answer = _my_answer(visit, form.answer_id.data)
        upload = form.evidence.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            followup.file_dispute(visit, answer, form.reason.data, current_user, data)
        except followup.FollowupError as error:
            if error.field in ("evidence", "reason"):
                target = getattr(form, error.field)
                target.errors = [*target.errors, str(error)]
            else:
                page_error = str(error)
        else:
            db.session.commit()
            flash(_("Dispute sent to HQ. The visit shows as disputed until HQ decides."),
                  "success")
            return redirect(url_for(".visit", visit_id=visit.id, _anchor=f"item-{answer.id}"))
    db.session.rollback()
    return _render_detail(visit, dispute_form=form, page_error=page_error, status=400)


@bp.route("/disputes/<int:dispute_id>/evidence/<int:n>")
@requires(Cap.VIEW_STORE_RESULTS)
def evidence(dispute_id: int, n: int):
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        abort(404)
    _my_visit(dispute.visit_id)
    return followup.evidence_response(dispute, n)


@bp.route("/visits/<int:visit_id>/acknowledge", methods=["POST"])
@requires(Cap.ACKNOWLEDGE_VISITS)
def acknowledge(visit_id: int):
    visit = _my_visit(visit_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    if followup.acknowledge(visit, current_user):
        db.session.commit()
        flash(_("Marked as read. HQ can see that you have reviewed this audit."), "success")
    return redirect(url_for(".visit", visit_id=visit.id))
