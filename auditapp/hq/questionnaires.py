"""HQ: questionnaire editor — families, versions, drafts, publishing.

Only a draft can be edited. Publishing a draft makes it the family's published version
and retires the one before; published and retired versions are read-only, so visits
answered on them keep scoring exactly as before (each visit points to its own version).
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import analytics, conditions, item_types, params, scoring
from ..audit import log_change
from ..extensions import db
from ..i18n import _item_type_label as item_type_label
from ..models import Dimension, Item, Questionnaire
from ..models.questionnaire import DRAFT
from ..permissions import Cap, requires
from ..questionnaires import (
    QuestionnaireError,
    discard_draft,
    families,
    family_draft,
    new_draft,
    publish,
    publish_problems,
    visit_count,
)
from . import bp
from .forms import DimensionForm, ItemForm


def _draft_or_404(questionnaire_id: int) -> Questionnaire:
    q = db.get_or_404(Questionnaire, questionnaire_id)
    if q.status != DRAFT:
        abort(409, description=_("Only a draft can be changed; published versions are read-only."))
    return q


@bp.route("/questionnaires")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaires():
    counts = analytics.visits_per_questionnaire()
    return render_template("hq/questionnaires/index.html", families=families(),
                           counts=counts)


@bp.route("/questionnaires/<int:questionnaire_id>")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire(questionnaire_id: int):
    q = db.get_or_404(Questionnaire, questionnaire_id)
    forms = {}
    if q.status == DRAFT:
        forms = {d.id: _dimension_form(d) for d in q.dimensions}
    visits = visit_count(q.id)
    return render_template("hq/questionnaires/edit.html", q=q, dim_forms=forms,
                           problems=publish_problems(q) if q.status == DRAFT else [],
                           visits=visits)


@bp.post("/questionnaires/<int:questionnaire_id>/new-version")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_new_version(questionnaire_id: int):
    base = db.get_or_404(Questionnaire, questionnaire_id)
    existing = family_draft(base.code)
    if existing is not None:
        flash(_("Version %(v)d is already a draft; edit it or publish it first.",
                v=existing.version), "info")
        return redirect(url_for("hq.questionnaire", questionnaire_id=existing.id))
    draft, source = new_draft(base, current_user.id)
    db.session.commit()
    flash(_("Draft version %(v)d created from version %(s)d.", v=draft.version,
            s=source.version), "success")
    return redirect(url_for("hq.questionnaire", questionnaire_id=draft.id))


@bp.post("/questionnaires/<int:questionnaire_id>/name")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_rename(questionnaire_id: int):
    q = _draft_or_404(questionnaire_id)
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > 200:
        flash(_("The name must have 1 to 200 characters."), "error")
    else:
        log_change("questionnaire", q.id, "rename", current_user.id, {"name": q.name},
                   {"name": name})
        q.name = name
        db.session.commit()
        flash(_("Name saved."), "success")
    return redirect(url_for("hq.questionnaire", questionnaire_id=q.id))


@bp.post("/questionnaires/<int:questionnaire_id>/dimensions/<int:dimension_id>")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_dimension(questionnaire_id: int, dimension_id: int):
    q = _draft_or_404(questionnaire_id)
    dim = db.get_or_404(Dimension, dimension_id)
    if dim.questionnaire_id != q.id:
        abort(404)
    form = DimensionForm(prefix=f"d{dim.id}")
    if form.validate_on_submit():
        before = _dimension_state(dim)
        dim.name, dim.name_zh = form.name.data.strip(), (form.name_zh.data or "").strip()
        dim.weight = form.weight.data
        dim.condition = form.condition()
        log_change("questionnaire", q.id, "edit_dimension", current_user.id, before,
                   _dimension_state(dim))
        db.session.commit()
        flash(_("Dimension %(d)s saved.", d=dim.name), "success")
        return redirect(url_for("hq.questionnaire", questionnaire_id=q.id) + f"#dim-{dim.id}")
    forms = {d.id: (form if d.id == dim.id else _dimension_form(d))
             for d in q.dimensions}
    return render_template("hq/questionnaires/edit.html", q=q, dim_forms=forms,
                           problems=publish_problems(q), visits=0), 422


def _dimension_form(d: Dimension) -> DimensionForm:
    form = DimensionForm(obj=d, prefix=f"d{d.id}")
    form.show_visit_types.data = list((d.condition or {}).get("visit_types") or [])
    form.show_kinds.data = list((d.condition or {}).get("kinds") or [])
    return form


def _dimension_state(dim: Dimension) -> dict:
    return {"dimension": dim.code, "name": dim.name, "name_zh": dim.name_zh,
            "weight": dim.weight, "condition": dim.condition}


def _item_state(item: Item | None) -> dict | None:
    if item is None:
        return None
    return {"item": item.code, "dimension_id": item.dimension_id, "type": item.item_type,
            "weight": item.weight, "critical": item.critical, "allow_na": item.allow_na,
            "text": item.text, "text_zh": item.text_zh, "position": item.position,
            "timed_targets": item.timed_targets, "config": item.config,
            "condition": item.condition, "require_comment": item.require_comment,
            "require_photo": item.require_photo}


def _item_form(q: Questionnaire, item: Item | None) -> ItemForm:
    form = ItemForm(obj=item)
    form.dimension_id.choices = [(d.id, d.name) for d in q.dimensions]
    # a condition may only name an earlier item (conditions.problems checks it at publish)
    earlier = [it for it in q.items if item is None or it is not item]
    if item is not None:
        earlier = q.items[:q.items.index(item)]
    form.when_item.choices = [("", _("— always —"))] + [
        (it.code, f"{it.code} · {item_type_label(it.item_type)}") for it in earlier
        if item_types.of(it).asked and item_types.of(it).numeric
        and not item_types.of(it).photos]
    if request.method == "GET":
        condition = (item.condition if item is not None else None) or {}
        form.show_visit_types.data = list(condition.get("visit_types") or [])
        form.show_kinds.data = list(condition.get("kinds") or [])
        when = condition.get("when") or {}
        form.when_item.data = when.get("item", "")
        form.when_test.data, form.when_value.data = conditions.when_operand(when)
        if item is not None and item.item_type in item_types.REGISTRY:
            item_types.of(item).config_to_form(item, form)
        if item is None:
            wanted = params.ident("dimension")
            form.dimension_id.data = wanted or (q.dimensions[0].id if q.dimensions else None)
            form.weight.data = 1.0
        targets = (item.timed_targets if item is not None and item.timed_targets else
                   scoring.DEFAULT_TIMED_TARGETS)
        for vtype in scoring.VISIT_TYPES:
            t, lim = targets.get(vtype, scoring.DEFAULT_TIMED_TARGETS[vtype])
            form[f"t_{vtype}"].data, form[f"l_{vtype}"].data = t, lim
    return form


@bp.route("/questionnaires/<int:questionnaire_id>/items/new", methods=["GET", "POST"],
          endpoint="questionnaire_item_new")
@bp.route("/questionnaires/<int:questionnaire_id>/items/<int:item_id>",
          methods=["GET", "POST"], endpoint="questionnaire_item_edit")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_item(questionnaire_id: int, item_id: int | None = None):
    q = db.get_or_404(Questionnaire, questionnaire_id)
    item = db.get_or_404(Item, item_id) if item_id else None
    if item is not None and item.dimension.questionnaire_id != q.id:
        abort(404)
    if q.status != DRAFT:
        if request.method == "POST":
            abort(409, description=_("Only a draft can be changed."))
        if item is None:
            abort(409, description=_("Only a draft can be changed."))
    form = _item_form(q, item)
    if request.method == "POST" and form.validate_on_submit():
        code = form.code.data.strip()
        kind = item_types.get(form.item_type.data)
        config = kind.config_from_form(form)
        config_problems = kind.config_problems(SimpleNamespace(code=code, config=config))
        if any(it.code == code and it is not item for it in q.items):
            form.code.errors.append(_("Another item of this questionnaire has this code."))
        elif config_problems:
            form.options.errors.extend(config_problems)
        else:
            before = _item_state(item)
            dim = next(d for d in q.dimensions if d.id == form.dimension_id.data)
            if item is None:
                item = Item(position=(max((i.position for i in dim.items), default=-1) + 1))
                dim.items.append(item)
            elif item.dimension_id != dim.id:
                item.dimension.items.remove(item)
                item.position = max((i.position for i in dim.items), default=-1) + 1
                dim.items.append(item)
            item.code, item.item_type = code, form.item_type.data
            item.weight, item.critical, item.allow_na = (form.weight.data, form.critical.data,
                                                         form.allow_na.data)
            item.text, item.text_zh = form.text.data.strip(), (form.text_zh.data or "").strip()
            item.guidance = (form.guidance.data or "").strip()
            item.guidance_zh = (form.guidance_zh.data or "").strip()
            item.timed_targets = (
                {v: [form[f"t_{v}"].data, form[f"l_{v}"].data] for v in scoring.VISIT_TYPES}
                if item.item_type == scoring.TIMED else None
            )
            item.config = config
            item.condition = form.condition()
            item.require_comment = form.require_comment.data
            item.require_photo = form.require_photo.data
            db.session.flush()
            log_change("questionnaire", q.id, "edit_item" if before else "add_item",
                       current_user.id, before, _item_state(item))
            db.session.commit()
            flash(_("Item %(c)s saved.", c=item.code), "success")
            return redirect(url_for("hq.questionnaire", questionnaire_id=q.id)
                            + f"#item-{item.id}")
    status = 422 if form.errors else 200
    return render_template("hq/questionnaires/item.html", q=q, item=item, form=form,
                           readonly=q.status != DRAFT, visit_types=scoring.VISIT_TYPES), status


@bp.post("/questionnaires/<int:questionnaire_id>/items/<int:item_id>/move")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_item_move(questionnaire_id: int, item_id: int):
    q = _draft_or_404(questionnaire_id)
    item = db.get_or_404(Item, item_id)
    if item.dimension.questionnaire_id != q.id:
        abort(404)
    items = list(item.dimension.items)
    i = items.index(item)
    j = i - 1 if request.form.get("direction") == "up" else i + 1
    if 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]
        before = {"item": item.code, "position": item.position}
        for position, it in enumerate(items):
            it.position = position
        log_change("questionnaire", q.id, "move_item", current_user.id, before,
                   {"item": item.code, "position": item.position})
        db.session.commit()
    return redirect(url_for("hq.questionnaire", questionnaire_id=q.id) + f"#item-{item.id}")


@bp.post("/questionnaires/<int:questionnaire_id>/items/<int:item_id>/delete")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_item_delete(questionnaire_id: int, item_id: int):
    q = _draft_or_404(questionnaire_id)
    item = db.get_or_404(Item, item_id)
    if item.dimension.questionnaire_id != q.id:
        abort(404)
    dim = item.dimension
    log_change("questionnaire", q.id, "delete_item", current_user.id, _item_state(item), None)
    dim.items.remove(item)
    for position, it in enumerate(dim.items):
        it.position = position
    db.session.commit()
    flash(_("Item %(c)s removed from the draft.", c=item.code), "success")
    return redirect(url_for("hq.questionnaire", questionnaire_id=q.id) + f"#dim-{dim.id}")


@bp.post("/questionnaires/<int:questionnaire_id>/publish")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_publish(questionnaire_id: int):
    q = _draft_or_404(questionnaire_id)
    try:
        publish(q, current_user.id)
    except QuestionnaireError as error:
        for p in error.problems:
            flash(p, "error")
        return redirect(url_for("hq.questionnaire", questionnaire_id=q.id))
    db.session.commit()
    flash(_("Version %(v)d of %(c)s is published; new assignments use it.", v=q.version,
            c=q.code), "success")
    return redirect(url_for("hq.questionnaire", questionnaire_id=q.id))


@bp.post("/questionnaires/<int:questionnaire_id>/discard")
@requires(Cap.MANAGE_QUESTIONNAIRES)
def questionnaire_discard(questionnaire_id: int):
    q = _draft_or_404(questionnaire_id)
    try:
        discard_draft(q, current_user.id)
    except QuestionnaireError:
        abort(409)
    db.session.commit()
    flash(_("Draft discarded."), "success")
    return redirect(url_for("hq.questionnaires"))
