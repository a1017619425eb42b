"""HQ: master data — regions, stores (with CSV import), competitor stores, users and roles.

Nothing here is ever deleted: regions, stores, competitors and people are deactivated,
because visits, complaints and the audit trail point to them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import params
from ..auth.urls import safe_next
from ..extensions import db
from ..models import HQ_ADMIN, MANAGER, ROLES, SHOPPER, Brand, CompetitorStore, Region, Store, User
from ..security import roles_required
from ..visits import log_change
from . import bp
from .forms import (
    CompetitorForm,
    RegionForm,
    StoreForm,
    StoreImportForm,
    UserForm,
    valid_timezone,
)

PER_PAGE = 50


def _snapshot(obj, fields: tuple[str, ...]) -> dict:
    return {f: getattr(obj, f) for f in fields}


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
@roles_required(HQ_ADMIN)
def regions():
    counts = dict(
        db.session.execute(
            select(Store.region_id, func.count(Store.id))
            .where(Store.active.is_(True)).group_by(Store.region_id)
        ).all()
    )
    return render_template("hq/masterdata/regions.html", regions=_regions(), counts=counts)


@bp.route("/regions/new", methods=["GET", "POST"], endpoint="region_new")
@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"], endpoint="region_edit")
@roles_required(HQ_ADMIN)
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
            before = _snapshot(region, REGION_FIELDS) if region else None
            if region is None:
                region = Region()
                db.session.add(region)
            region.code, region.name = code, form.name.data.strip()
            region.brand_id = form.brand_id.data
            db.session.flush()
            log_change("region", region.id, "update" if before else "create",
                       current_user.id, before, _snapshot(region, REGION_FIELDS))
            db.session.commit()
            flash(_("Region %(code)s saved.", code=region.code), "success")
            return redirect(url_for("hq.regions"))
    return render_template("hq/masterdata/form.html", form=form, obj=region,
                           title=_("Edit region") if region else _("New region"),
                           back=url_for("hq.regions"))


@bp.post("/regions/<int:region_id>/active")
@roles_required(HQ_ADMIN)
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

STORE_FIELDS = ("code", "name", "address", "city", "region_id", "timezone", "has_drive_thru",
                "latitude", "longitude", "active")


@bp.route("/stores")
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
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
            before = _snapshot(store, STORE_FIELDS) if store else None
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
            db.session.flush()
            log_change("store", store.id, "update" if before else "create", current_user.id,
                       before, _snapshot(store, STORE_FIELDS))
            db.session.commit()
            flash(_("Store %(code)s saved.", code=store.code), "success")
            return redirect(url_for("hq.stores"))
    return render_template("hq/masterdata/form.html", form=form, obj=store,
                           title=_("Edit store") if store else _("New store"),
                           back=url_for("hq.stores"))


@bp.post("/stores/<int:store_id>/active")
@roles_required(HQ_ADMIN)
def store_active(store_id: int):
    store = db.get_or_404(Store, store_id)
    _toggle(store, "store", store.code)
    return redirect(safe_next(request.form.get("next")) or url_for("hq.stores"))


# --- store CSV import ---------------------------------------------------------------------

CSV_COLUMNS = ("code", "name", "address", "city", "region_code", "timezone", "has_drive_thru",
               "latitude", "longitude")
TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "否", ""}
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass
class RowError:
    row: int
    column: str
    message: str


def parse_store_csv(data: bytes) -> tuple[list[dict], list[RowError]]:
    """Read and check a store CSV. Row numbers count the header as row 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(0, "", _("The file is not UTF-8 text. Save it as CSV UTF-8."))]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return [], [RowError(1, ", ".join(missing),
                             _("Missing column(s): %(cols)s.", cols=", ".join(missing)))]
    reader.fieldnames = header
    regions = {r.code: r for r in _regions()}
    rows: list[dict] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            errors.append(RowError(number, "", _("Too many values in this row.")))
            continue
        cell = {k: (raw.get(k) or "").strip() for k in CSV_COLUMNS}
        if not any(cell.values()):
            continue
        row: dict = {"row": number}

        def err(column: str, message: str, number: int = number) -> None:
            errors.append(RowError(number, column, message))

        code = cell["code"]
        if not code:
            err("code", _("The code is empty."))
        elif len(code) > 32:
            err("code", _("The code is longer than 32 characters."))
        elif code in seen:
            err("code", _("Code %(code)s already appears in row %(row)d.", code=code,
                          row=seen[code]))
        else:
            seen[code] = number
        row["code"] = code
        if not cell["name"]:
            err("name", _("The name is empty."))
        elif len(cell["name"]) > 200:
            err("name", _("The name is longer than 200 characters."))
        row["name"] = cell["name"]
        row["address"], row["city"] = cell["address"][:300], cell["city"][:120]
        region = regions.get(cell["region_code"])
        if not cell["region_code"]:
            err("region_code", _("The region code is empty."))
        elif region is None:
            err("region_code", _("Unknown region %(code)s.", code=cell["region_code"]))
        elif not region.active:
            err("region_code", _("Region %(code)s is deactivated.", code=cell["region_code"]))
        row["region"] = region
        tz = cell["timezone"] or "Asia/Shanghai"
        if not valid_timezone(tz):
            err("timezone", _("Unknown time zone %(tz)s.", tz=tz))
        row["timezone"] = tz
        flag = cell["has_drive_thru"].lower()
        if flag in TRUE_WORDS:
            row["has_drive_thru"] = True
        elif flag in FALSE_WORDS:
            row["has_drive_thru"] = False
        else:
            err("has_drive_thru",
                _("Write yes or no (1 or 0), not %(v)s.", v=cell["has_drive_thru"]))
        for column, bound in (("latitude", 90), ("longitude", 180)):
            value = cell[column]
            row[column] = None
            if value:
                try:
                    number_value = float(value)
                except ValueError:
                    err(column, _("%(v)s is not a number.", v=value))
                    continue
                if not -bound <= number_value <= bound:
                    err(column, _("Must be between -%(b)d and %(b)d.", b=bound))
                else:
                    row[column] = number_value
        rows.append(row)
    if not rows and not errors:
        errors.append(RowError(0, "", _("The file has no store rows.")))
    return rows, errors


def import_stores(rows: list[dict], user_id: int | None) -> tuple[int, int]:
    """Upsert the checked rows by code in the current transaction; (created, updated)."""
    existing = {
        s.code: s for s in db.session.scalars(
            select(Store).where(Store.code.in_([r["code"] for r in rows]))
        )
    }
    created = updated = 0
    for row in rows:
        store = existing.get(row["code"])
        before = _snapshot(store, STORE_FIELDS) if store else None
        if store is None:
            store = Store(code=row["code"])
            db.session.add(store)
            created += 1
        else:
            updated += 1
        store.name, store.address, store.city = row["name"], row["address"], row["city"]
        store.region = row["region"]
        store.timezone, store.has_drive_thru = row["timezone"], row["has_drive_thru"]
        store.latitude, store.longitude = row["latitude"], row["longitude"]
        db.session.flush()
        log_change("store", store.id, "import" if before is None else "import_update", user_id,
                   before, _snapshot(store, STORE_FIELDS))
    return created, updated


@bp.route("/stores/import", methods=["GET", "POST"])
@roles_required(HQ_ADMIN)
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
            flash(_("Imported %(n)d stores: %(c)d new, %(u)d updated.", n=created + updated,
                    c=created, u=updated), "success")
            return redirect(url_for("hq.stores"))
        db.session.rollback()
    status = 422 if errors or form.errors else 200
    return render_template("hq/masterdata/import.html", form=form, errors=errors,
                           columns=CSV_COLUMNS), status


@bp.route("/stores/import/template.csv")
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
def competitor_form(competitor_id: int | None = None):
    comp = db.get_or_404(CompetitorStore, competitor_id) if competitor_id else None
    form = CompetitorForm(obj=comp)
    if request.method == "GET" and comp is not None and comp.region_id is None:
        form.region_id.data = 0
    form.region_id.choices = _region_choices(comp.region_id if comp else None, _("(none)"))
    if form.validate_on_submit():
        before = _snapshot(comp, COMPETITOR_FIELDS) if comp else None
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
                   before, _snapshot(comp, COMPETITOR_FIELDS))
        db.session.commit()
        flash(_("Competitor store saved."), "success")
        return redirect(url_for("hq.competitor_stores"))
    return render_template("hq/masterdata/form.html", form=form, obj=comp,
                           title=_("Edit competitor store") if comp
                           else _("New competitor store"),
                           back=url_for("hq.competitor_stores"))


@bp.post("/competitor-stores/<int:competitor_id>/active")
@roles_required(HQ_ADMIN)
def competitor_active(competitor_id: int):
    comp = db.get_or_404(CompetitorStore, competitor_id)
    _toggle(comp, "competitor", f"{comp.competitor} · {comp.name}")
    return redirect(url_for("hq.competitor_stores"))


# --- users and roles ----------------------------------------------------------------------

USER_FIELDS = ("username", "name", "email", "role", "locale", "active")


def _user_snapshot(user: User) -> dict:
    return {**_snapshot(user, USER_FIELDS), "stores": [s.code for s in user.stores],
            "tied_stores": sorted(s.code for s in user.tied_stores)}


@bp.route("/people")
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
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
    if request.method == "GET":
        if user is not None:
            form.stores.data = [s.id for s in user.stores]
            form.tied_stores.data = [s.id for s in user.tied_stores]
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
@roles_required(HQ_ADMIN)
def user_active(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
    else:
        _toggle(user, "user", user.username)
    return redirect(url_for("hq.users"))
