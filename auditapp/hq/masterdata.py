"""HQ: master data — regions, stores (with CSV import), competitor stores, users and roles.

Nothing here is ever deleted: regions, stores, competitors and people are deactivated,
because visits, complaints and the audit trail point to them.
"""

from __future__ import annotations

import csv
import io

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import analytics, params
from ..audit import log_change, snapshot
from ..auth.urls import safe_next
from ..extensions import db
from ..models import (
    AREA_MANAGER,
    HQ_ADMIN,
    MANAGER,
    ROLES,
    SHOPPER,
    Brand,
    CompetitorStore,
    Region,
    Store,
    User,
)
from ..permissions import Cap, requires
from ..stores import (
    CSV_COLUMNS,
    MAX_IMPORT_BYTES,
    STORE_FIELDS,
    RowError,
    import_stores,
    parse_store_csv,
)
from . import bp
from .forms import (
    CompetitorForm,
    RegionForm,
    StoreForm,
    StoreImportForm,
    UserForm,
)

PER_PAGE = 50


def _regions(active_only: bool = False) -> list[Region]:
    q = select(Region).order_by(Region.code)
    if active_only:
        q = q.where(Region.active.is_(True))
    return list(db.session.scalars(q))


def _region_choices(current: int | None = None, blank: str | None = None) -> list:
    choices = [(r.id, f"{r.code} · {r.name}") for r in _regions()
               if r.active or r.id == current]
    return ([(0, blank)] if blank is not None else []) + choices


# --- regions ----------------------------------------------------------------------------

REGION_FIELDS = ("code", "name", "brand_id", "active")


@bp.route("/regions")
@requires(Cap.MANAGE_MASTERDATA)
def regions():
    counts = analytics.active_stores_per_region()
    return render_template("hq/masterdata/regions.html", regions=_regions(), counts=counts)


@bp.route("/regions/new", methods=["GET", "POST"], endpoint="region_new")
@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"], endpoint="region_edit")
@requires(Cap.MANAGE_MASTERDATA)
def region_form(region_id: int | None = None):
    region = db.get_or_404(Region, region_id) if region_id else None
    form = RegionForm(obj=region)
    form.brand_id.choices = [
        (b.id, b.name) for b in db.session.scalars(select(Brand).order_by(Brand.code))
    ]
    if form.validate_on_submit():
        code = form.code.data.strip()
        clash = db.session.scalar(select(Region).where(Region.code == code))
        if clash is not None and clash is not region:
            form.code.errors.append(_("Another region already has this code."))
        else:
            before = snapshot(region, REGION_FIELDS) if region else None
            if region is None:
                region = Region()
                db.session.add(region)
            region.code, region.name = code, form.name.data.strip()
            region.brand_id = form.brand_id.data
            db.session.flush()
            log_change("region", region.id, "update" if before else "create",
                       current_user.id, before, snapshot(region, REGION_FIELDS))
            db.session.commit()
            flash(_("Region %(code)s saved.", code=region.code), "success")
            return redirect(url_for("hq.regions"))
    return render_template("hq/masterdata/form.html", form=form, obj=region,
                           title=_("Edit region") if region else _("New region"),
                           back=url_for("hq.regions"))


@bp.post("/regions/<int:region_id>/active")
@requires(Cap.MANAGE_MASTERDATA)
def region_active(region_id: int):
    region = db.get_or_404(Region, region_id)
    _toggle(region, "region", region.code)
    return redirect(url_for("hq.regions"))


def _toggle(obj, entity: str, label: str) -> None:
    active = request.form.get("active") == "1"
    if obj.active != active:
        log_change(entity, obj.id, "reactivate" if active else "deactivate", current_user.id,
                   {"active": obj.active}, {"active": active})
        obj.active = active
        db.session.commit()
    if active:
        flash(_("%(label)s is active again.", label=label), "success")
    else:
        flash(_("%(label)s is deactivated (its history is kept).", label=label), "success")


# --- stores -----------------------------------------------------------------------------



@bp.route("/stores")
@requires(Cap.MANAGE_MASTERDATA)
def stores():
    q = select(Store).join(Region).order_by(Store.code)
    region_id = params.ident("region")
    search = params.text("q")
    status = request.args.get("status", "active")
    if region_id:
        q = q.where(Store.region_id == region_id)
    if search:
        like = f"%{search}%"
        q = q.where(or_(Store.code.ilike(like), Store.name.ilike(like), Store.city.ilike(like)))
    if status == "active":
        q = q.where(Store.active.is_(True))
    elif status == "inactive":
        q = q.where(Store.active.is_(False))
    page = db.paginate(q, page=params.page(), per_page=PER_PAGE, error_out=False)
    return render_template("hq/masterdata/stores.html", page=page, regions=_regions(),
                           region_id=region_id, search=search, status=status)


@bp.route("/stores/new", methods=["GET", "POST"], endpoint="store_new")
@bp.route("/stores/<int:store_id>/edit", methods=["GET", "POST"], endpoint="store_edit")
@requires(Cap.MANAGE_MASTERDATA)
def store_form(store_id: int | None = None):
    store = db.get_or_404(Store, store_id) if store_id else None
    form = StoreForm(obj=store)
    form.region_id.choices = _region_choices(store.region_id if store else None)
    if form.validate_on_submit():
        code = form.code.data.strip()
        clash = db.session.scalar(select(Store).where(Store.code == code))
        if clash is not None and clash is not store:
            form.code.errors.append(_("Another store already has this code."))
        else:
            before = snapshot(store, STORE_FIELDS) if store else None
            if store is None:
                store = Store()
                db.session.add(store)
            store.code, store.name = code, form.name.data.strip()
            store.address = (form.address.data or "").strip()
            store.city = (form.city.data or "").strip()
            store.region_id = form.region_id.data
            store.timezone = form.timezone.data.strip()
            store.has_drive_thru = form.has_drive_thru.data
            store.latitude, store.longitude = form.latitude.data, form.longitude.data
            hours_before = _hours(store)
            store.opens_at, store.closes_at = form.opens_at.data, form.closes_at.data
            db.session.flush()
            log_change("store", store.id, "update" if before else "create", current_user.id,
                       {**before, **hours_before} if before else None,
                       {**snapshot(store, STORE_FIELDS), **_hours(store)})
            db.session.commit()
            flash(_("Store %(code)s saved.", code=store.code), "success")
            return redirect(url_for("hq.stores"))
    return render_template("hq/masterdata/form.html", form=form, obj=store,
                           title=_("Edit store") if store else _("New store"),
                           back=url_for("hq.stores"))


def _hours(store: Store) -> dict:
    return {f: getattr(store, f).strftime("%H:%M") if getattr(store, f) else None
            for f in ("opens_at", "closes_at")}


@bp.post("/stores/<int:store_id>/active")
@requires(Cap.MANAGE_MASTERDATA)
def store_active(store_id: int):
    store = db.get_or_404(Store, store_id)
    _toggle(store, "store", store.code)
    return redirect(safe_next(request.form.get("next")) or url_for("hq.stores"))


# --- store CSV import ---------------------------------------------------------------------

@bp.route("/stores/import", methods=["GET", "POST"])
@requires(Cap.MANAGE_MASTERDATA)
def store_import():
    form = StoreImportForm()
    errors: list[RowError] = []
    if form.validate_on_submit():
        data = form.file.data.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            errors = [RowError(0, "", _("The file is larger than 5 MB."))]
        else:
            rows, errors = parse_store_csv(data)
        if not errors:
            try:
                created, updated = import_stores(rows, current_user.id)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            flash(ngettext("Imported %(num)d store: %(c)d new, %(u)d updated.",
                           "Imported %(num)d stores: %(c)d new, %(u)d updated.",
                           created + updated, c=created, u=updated), "success")
            return redirect(url_for("hq.stores"))
        db.session.rollback()
    status = 422 if errors or form.errors else 200
    return render_template("hq/masterdata/import.html", form=form, errors=errors,
                           columns=CSV_COLUMNS), status


@bp.route("/stores/import/template.csv")
@requires(Cap.MANAGE_MASTERDATA)
def store_import_template():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    region = next(iter(_regions(active_only=True)), None)
    code = region.code if region else "EAST"
    writer.writerow(["E900", "上海示例店", "南京西路 100 号", "上海", code, "Asia/Shanghai",
                     "yes", "31.2304", "121.4737"])
    writer.writerow(["E901", "Example Walk-in", "1 Example Rd", "Hangzhou", code,
                     "Asia/Shanghai", "no", "", ""])
    return Response(
        "\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=stores-template.csv"},
    )


# --- competitor stores --------------------------------------------------------------------

COMPETITOR_FIELDS = ("competitor", "name", "address", "region_id", "timezone", "has_drive_thru",
                     "latitude", "longitude", "active")


@bp.route("/competitor-stores")
@requires(Cap.MANAGE_MASTERDATA)
def competitor_stores():
    q = select(CompetitorStore).order_by(CompetitorStore.competitor, CompetitorStore.name)
    if request.args.get("status", "active") == "active":
        q = q.where(CompetitorStore.active.is_(True))
    return render_template("hq/masterdata/competitors.html",
                           competitors=list(db.session.scalars(q)),
                           status=request.args.get("status", "active"))


@bp.route("/competitor-stores/new", methods=["GET", "POST"], endpoint="competitor_new")
@bp.route("/competitor-stores/<int:competitor_id>/edit", methods=["GET", "POST"],
          endpoint="competitor_edit")
@requires(Cap.MANAGE_MASTERDATA)
def competitor_form(competitor_id: int | None = None):
    comp = db.get_or_404(CompetitorStore, competitor_id) if competitor_id else None
    form = CompetitorForm(obj=comp)
    if request.method == "GET" and comp is not None and comp.region_id is None:
        form.region_id.data = 0
    form.region_id.choices = _region_choices(comp.region_id if comp else None, _("(none)"))
    if form.validate_on_submit():
        before = snapshot(comp, COMPETITOR_FIELDS) if comp else None
        if comp is None:
            comp = CompetitorStore()
            db.session.add(comp)
        comp.competitor, comp.name = form.competitor.data.strip(), form.name.data.strip()
        comp.address = (form.address.data or "").strip()
        comp.region_id = form.region_id.data or None
        comp.timezone = form.timezone.data.strip()
        comp.has_drive_thru = form.has_drive_thru.data
        comp.latitude, comp.longitude = form.latitude.data, form.longitude.data
        db.session.flush()
        log_change("competitor", comp.id, "update" if before else "create", current_user.id,
                   before, snapshot(comp, COMPETITOR_FIELDS))
        db.session.commit()
        flash(_("Competitor store saved."), "success")
        return redirect(url_for("hq.competitor_stores"))
    return render_template("hq/masterdata/form.html", form=form, obj=comp,
                           title=_("Edit competitor store") if comp
                           else _("New competitor store"),
                           back=url_for("hq.competitor_stores"))


@bp.post("/competitor-stores/<int:competitor_id>/active")
@requires(Cap.MANAGE_MASTERDATA)
def competitor_active(competitor_id: int):
    comp = db.get_or_404(CompetitorStore, competitor_id)
    _toggle(comp, "competitor", f"{comp.competitor} · {comp.name}")
    return redirect(url_for("hq.competitor_stores"))


# --- users and roles ----------------------------------------------------------------------

USER_FIELDS = ("username", "name", "email", "role", "locale", "active")


def _user_snapshot(user: User) -> dict:
    return {**snapshot(user, USER_FIELDS), "stores": [s.code for s in user.stores],
            "tied_stores": sorted(s.code for s in user.tied_stores),
            "regions": [r.code for r in user.regions]}


@bp.route("/people")
@requires(Cap.MANAGE_MASTERDATA)
def users():
    q = select(User).order_by(User.role, User.username)
    role = request.args.get("role") or ""
    search = params.text("q")
    status = request.args.get("status", "active")
    if role in ROLES:
        q = q.where(User.role == role)
    if search:
        like = f"%{search}%"
        q = q.where(or_(User.username.ilike(like), User.name.ilike(like),
                        User.email.ilike(like)))
    if status == "active":
        q = q.where(User.active.is_(True))
    elif status == "inactive":
        q = q.where(User.active.is_(False))
    page = db.paginate(q, page=params.page(), per_page=PER_PAGE, error_out=False)
    return render_template("hq/masterdata/users.html", page=page, role=role, search=search,
                           status=status, roles=ROLES)


@bp.route("/people/new", methods=["GET", "POST"], endpoint="user_new")
@bp.route("/people/<int:user_id>/edit", methods=["GET", "POST"], endpoint="user_edit")
@requires(Cap.MANAGE_MASTERDATA)
def user_form(user_id: int | None = None):
    user = db.get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user)
    store_choices = [
        (s.id, f"{s.code} · {s.name}")
        for s in db.session.scalars(select(Store).order_by(Store.code))
        if s.active or (user and (s in user.stores or s in user.tied_stores))
    ]
    form.stores.choices = store_choices
    if form.locale.data is None:
        form.locale.data = ""
    form.tied_stores.choices = store_choices
    form.regions.choices = [
        (r.id, f"{r.code} · {r.name}")
        for r in db.session.scalars(select(Region).order_by(Region.code))
        if r.active or (user and r in user.regions)
    ]
    if request.method == "GET":
        if user is not None:
            form.stores.data = [s.id for s in user.stores]
            form.tied_stores.data = [s.id for s in user.tied_stores]
            form.regions.data = [r.id for r in user.regions]
            form.locale.data = user.locale or ""
        else:
            form.role.data = request.args.get("role") if request.args.get("role") in ROLES \
                else SHOPPER
    if form.validate_on_submit():
        username = form.username.data.strip()
        clash = db.session.scalar(select(User).where(func.lower(User.username) ==
                                                     username.lower()))
        if clash is not None and clash is not user:
            form.username.errors.append(_("Another account already uses this username."))
        elif user is None and not form.password.data:
            form.password.errors.append(_("Set a password for the new account."))
        elif user is not None and user.id == current_user.id and form.role.data != HQ_ADMIN:
            form.role.errors.append(_("You cannot remove your own HQ role."))
        else:
            before = _user_snapshot(user) if user else None
            if user is None:
                user = User(username=username, role=form.role.data)
                db.session.add(user)
            user.username = username
            user.name = (form.name.data or "").strip()
            user.email = (form.email.data or "").strip() or None
            user.role = form.role.data
            user.locale = form.locale.data or None
            chosen = {s.id: s for s in db.session.scalars(
                select(Store).where(Store.id.in_(form.stores.data + form.tied_stores.data)))}
            user.stores = [chosen[i] for i in form.stores.data] if user.role == MANAGER else []
            user.tied_stores = ([chosen[i] for i in form.tied_stores.data]
                                if user.role == SHOPPER else [])
            user.regions = (list(db.session.scalars(
                select(Region).where(Region.id.in_(form.regions.data)).order_by(Region.code)))
                if user.role == AREA_MANAGER else [])
            password_changed = bool(form.password.data)
            if password_changed:
                user.set_password(form.password.data)
            db.session.flush()
            after = _user_snapshot(user)
            log_change("user", user.id, "update" if before else "create", current_user.id,
                       before, {**after, "password_changed": password_changed})
            db.session.commit()
            flash(_("Account %(name)s saved.", name=user.username), "success")
            return redirect(url_for("hq.users"))
    return render_template("hq/masterdata/user_form.html", form=form, obj=user,
                           title=_("Edit account") if user else _("New account"))


@bp.post("/people/<int:user_id>/active")
@requires(Cap.MANAGE_MASTERDATA)
def user_active(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
    else:
        _toggle(user, "user", user.username)
    return redirect(url_for("hq.users"))
