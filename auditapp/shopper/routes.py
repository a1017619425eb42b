"""Mystery shoppers: their assignments and the audit form (see issue #3)."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..main.files import photo_response
from ..models import Photo, Visit
from ..models.visit import QA
from ..permissions import Cap, requires
from . import bp
from .access import visit_by_token
from .form import handle_form


@bp.route("/")
@requires(Cap.SHOP_VISITS)
def index():
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.evaluator_id == current_user.id)
        .order_by(Visit.month.desc(), Visit.due_date, Visit.id)
    ).all()
    return render_template("shopper/index.html", visits=visits)


@bp.route("/visits/<int:visit_id>", methods=["GET", "POST"])
@requires(Cap.SHOP_VISITS)
def visit_form(visit_id: int):
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.evaluator_id != current_user.id or visit.kind == QA:
        abort(404)
    return handle_form(visit, post_url=url_for("shopper.visit_form", visit_id=visit.id))


@bp.route("/t/<token>", methods=["GET", "POST"])
def token_form(token: str):
    """The assignment opened from the link HQ sent: the token is the key."""
    visit = visit_by_token(token)
    if visit is None or visit.kind == QA:
        abort(404)
    return handle_form(visit, post_url=url_for("shopper.token_form", token=token), token=token)


@bp.route("/t/<token>/photos/<int:photo_id>")
def token_photo(token: str, photo_id: int):
    visit = visit_by_token(token)
    photo = db.session.get(Photo, photo_id)
    if visit is None or photo is None or photo.visit_id != visit.id:
        abort(404)
    return photo_response(photo)


@bp.route("/sw.js")
def service_worker():
    """The service worker, served under /shopper/ so its scope covers the forms."""
    path = current_app.static_folder + "/js/sw.js"
    with open(path, encoding="utf-8") as fh:
        body = fh.read()
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/shopper/"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: the field app installs to the phone's home screen and opens
    on the list of assignments (the service worker keeps it and every open form)."""
    icon = lambda name, size, kind: {  # noqa: E731
        "src": url_for("static", filename=f"icons/{name}"), "sizes": size, "type": kind}
    response = jsonify({
        "name": _("%(brand)s field audits", brand=current_app.config.get("BRAND_NAME", "auditapp")),
        "short_name": _("Field audits"),
        "start_url": url_for("shopper.index"),
        "scope": url_for("shopper.index"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#12355b",
        "icons": [icon("icon-192.png", "192x192", "image/png"),
                  icon("icon-512.png", "512x512", "image/png"),
                  icon("icon.svg", "any", "image/svg+xml")],
    })
    response.mimetype = "application/manifest+json"
    return response
