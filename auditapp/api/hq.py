"""API: HQ figures for BI tools (documented in docs/API-HQ.md).

Authentication: an HQ session cookie, or ``Authorization: Bearer <token>`` with the
personal API token an HQ user generates on /hq/api-token (only its SHA-256 is stored).
Every figure comes from ``analytics.py``; ``by=store`` returns the same numbers as
``flask bdi --format json``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import analytics, params, receipts
from ..extensions import csrf, db
from ..models import Region, Store, User, Visit
from ..months import is_provisional
from ..params import BadParameter as BadRequest
from ..permissions import Cap, has
from ..scoring import DIMENSIONS
from ..settings import scoring_config
from . import bp
from .errors import error_response

TOKEN_PREFIX = "aud_"


# --- tokens -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """Give ``user`` a new personal API token (replacing any old one); returns it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    return token


def revoke_token(user: User) -> None:
    user.api_token_hash = None


def _unauthorized(message: str):
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="auditapp"'
    return response


def _token_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return db.session.scalar(
        select(User).where(User.api_token_hash == hash_token(token.strip()))
    )


def hq_api(view: Callable) -> Callable:
    """Allow an HQ session or a valid HQ bearer token; JSON 401/403 otherwise."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        if request.headers.get("Authorization"):
            user = _token_user()
            if user is None or not user.active:
                return _unauthorized(_("The API token is missing, wrong or revoked."))
        elif current_user.is_authenticated:
            user = current_user
        else:
            return _unauthorized(_("Log in as HQ or send 'Authorization: Bearer <token>'."))
        if not has(user, Cap.FIGURES_API):
            return error_response(403, _("Only HQ may read these figures."))
        return view(*args, **kwargs)

    return csrf.exempt(wrapped)


# --- parameters ---------------------------------------------------------------------------


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise BadRequest(
            _("'%(name)s' must be one of %(allowed)s, not %(value)r.",
              name=name, allowed=", ".join(allowed), value=value),
            name,
        )
    return value


@bp.errorhandler(BadRequest)
def _bad_request(error: BadRequest):
    return error_response(400, str(error), fields={error.parameter: str(error)})


# --- figures ------------------------------------------------------------------------------


def _group_json(group: analytics.GroupScore) -> dict:
    return {
        "id": group.id,
        "name": group.name,
        "bdi": group.bdi,
        "band": group.band,
        "stores_scored": group.stores_scored,
        "previous_bdi": group.previous_bdi,
        "trend": group.trend,
        **analytics.reliability_json(group),
    }


@bp.route("/hq/bdi")
@hq_api
def hq_bdi():
    period = params.month()
    by = _choice("by", ("store", "region", "brand"), "store")
    brand = analytics.brand_score(period)
    body: dict[str, Any] = {"month": period.label, "by": by,
                            "provisional": is_provisional(period)}
    if by == "store":
        body["brand"] = {"bdi": brand.bdi, "band": brand.band,
                         "stores_scored": brand.stores_scored,
                         **analytics.reliability_json(brand)}
        body["stores"] = [
            {
                "code": r.code, "name": r.name, "region": r.region_name,
                "ms": r.ms, "qa": r.qa, "hl": r.hl, "bdi": r.bdi, "band": r.band,
                "rank": r.rank, "ms_visits": r.ms_visits,
                "qa_visits": r.qa_visits, "complaints": r.complaints,
                **analytics.reliability_json(r),
            }
            for r in analytics.store_scores(period)
        ]
    elif by == "region":
        body["regions"] = [_group_json(r) for r in analytics.region_scores(period)]
    else:
        body["brand"] = _group_json(brand)
    return jsonify(body)


@bp.route("/hq/series")
@hq_api
def hq_series():
    period = params.month()
    try:
        months = int(request.args.get("months", "12"))
    except ValueError:
        raise BadRequest(_("'months' must be a whole number from 1 to 36."), "months") from None
    if not 1 <= months <= 36:
        raise BadRequest(_("'months' must be a whole number from 1 to 36."), "months")
    store_code = params.text("store")
    region_id = request.args.get("region")
    if store_code and region_id:
        raise BadRequest(_("Give either 'store' or 'region', not both."), "store")
    scope: dict[str, Any] = {"type": "brand"}
    kwargs: dict[str, int] = {}
    if store_code:
        store = db.session.scalar(select(Store).where(Store.code == store_code))
        if store is None:
            raise BadRequest(_("Unknown store code %(code)r.", code=store_code), "store")
        kwargs["store_id"] = store.id
        scope = {"type": "store", "code": store.code, "name": store.name}
    elif region_id:
        number = params.ident("region")
        region = db.session.get(Region, number) if number is not None else None
        if region is None:
            raise BadRequest(_("Unknown region id %(id)r.", id=region_id), "region")
        kwargs["region_id"] = region.id
        scope = {"type": "region", "id": region.id, "name": region.name}
    series = analytics.trend_series(period, months, **kwargs)
    return jsonify(
        {
            "month": period.label,
            "months": months,
            "scope": scope,
            "series": [{"month": label, "bdi": value, "provisional": is_provisional(label)}
                       for label, value in series],
        }
    )


@bp.route("/hq/dimensions")
@hq_api
def hq_dimensions():
    period = params.month()
    by = _choice("by", ("store", "region", "brand"), "brand")
    means = analytics.dimension_means(period, by=by)
    rows = [
        {"id": key, "dimensions": {d: values.get(d) for d in DIMENSIONS}}
        for key, values in sorted(means.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    competitors = [
        {"competitor": name, "dimensions": {d: b["dimensions"].get(d) for d in DIMENSIONS},
         "visits": b["visits"], "score": b["score"],
         "interval": [b["interval"].low, b["interval"].high] if b["interval"] else None}
        for name, b in sorted(analytics.competitor_benchmark(period).items())
    ]
    return jsonify({"month": period.label, "by": by, "provisional": is_provisional(period),
                    "groups": rows, "competitors": competitors})


@bp.route("/hq/receipts/visits/<int:visit_id>")
@hq_api
def hq_visit_receipt(visit_id: int):
    """How a visit's score was made (``receipts.visit_receipt``)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        return error_response(404, _("There is no visit %(id)s.", id=visit_id))
    return jsonify(receipts.visit_receipt(visit, scoring_config()).to_dict())


@bp.route("/hq/receipts/stores/<int:store_id>")
@hq_api
def hq_store_receipt(store_id: int):
    """How a store's BDI for a month was made (``receipts.store_receipt``)."""
    period = params.month()
    store = db.session.get(Store, store_id)
    if store is None:
        return error_response(404, _("There is no store %(id)s.", id=store_id))
    return jsonify(receipts.store_receipt(store, period, scoring_config()).to_dict())


# --- OpenAPI ------------------------------------------------------------------------------

_MONTH = {"name": "month", "in": "query", "required": False,
          "description": f"Month as YYYY-MM, {analytics.FIRST_MONTH} to {analytics.LAST_MONTH} "
                         "(default: the latest closed month, else the latest month with "
                         "released visits). An open month's figures are provisional "
                         "(`provisional: true`).",
          "schema": {"type": "string", "pattern": r"^(19|[2-9]\d)\d{2}-(0[1-9]|1[0-2])$",
                     "example": "2026-05"}}
_ERRORS = {
    "400": {"description": "Bad parameter",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "401": {"description": "Not logged in as HQ and no valid bearer token",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "403": {"description": "Authenticated, but not HQ",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}
_NUM = {"type": ["number", "null"]}
_AUTH = [{"session": []}, {"hqApiToken": []}]
#: ``?by=store|region|brand``, as the figures endpoints take it
_BY = {"name": "by", "in": "query", "required": False,
       "schema": {"type": "string", "enum": ["store", "region", "brand"], "default": "store"}}

OPENAPI_PATHS: dict = {
    "/api/hq/bdi": {"get": {
        "summary": "BDI figures for a month, per store, per region or for the brand",
        "description": "Auth: HQ session cookie or `Authorization: Bearer <token>` "
                       "(personal token from /hq/api-token).",
        "parameters": [
            _MONTH,
            _BY,
        ],
        "security": _AUTH,
        "responses": {"200": {"description": "Figures (by=store equals `flask bdi --format json`)",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqBdi"}}}}, **_ERRORS},
    }},
    "/api/hq/series": {"get": {
        "summary": "Monthly BDI series ending at a month: brand, one region or one store",
        "parameters": [
            _MONTH,
            {"name": "months", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                         "maximum": 36, "default": 12}},
            {"name": "store", "in": "query", "schema": {"type": "string"},
             "description": "Store code"},
            {"name": "region", "in": "query", "schema": {"type": "integer"},
             "description": "Region id"},
        ],
        "security": _AUTH,
        "responses": {"200": {"description": "Series, oldest month first",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqSeries"}}}}, **_ERRORS},
    }},
    "/api/hq/dimensions": {"get": {
        "summary": "Mean dimension scores of released visits, with competitor benchmarks",
        "parameters": [
            _MONTH,
            {"name": "by", "in": "query",
             "schema": {"type": "string", "enum": ["store", "region", "brand"],
                        "default": "brand"}},
        ],
        "security": _AUTH,
        "responses": {"200": {"description": "Dimension means (0–100)",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqDimensions"}}}}, **_ERRORS},
    }},
    "/api/hq/receipts/visits/{visit_id}": {"get": {
        "summary": "Score receipt of a visit: items → dimensions → visit score, recomputed",
        "parameters": [{"name": "visit_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "security": _AUTH,
        "responses": {"200": {"description": "Each item's answer, weight, T/L and score s; "
                                             "each dimension's W_d and S_d; V, CSM; the "
                                             "stored values beside the recomputed ones",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqVisitReceipt"}}}},
                      "404": {"description": "No such visit", "content": {
                          "application/json": {"schema": {
                              "$ref": "#/components/schemas/Error"}}}}, **_ERRORS},
    }},
    "/api/hq/receipts/stores/{store_id}": {"get": {
        "summary": "Score receipt of a store-month: visits and complaints → MS, QA, HL → BDI",
        "parameters": [{"name": "store_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}, _MONTH],
        "security": _AUTH,
        "responses": {"200": {"description": "The month's visits (with their receipts), "
                                             "complaints and deductions, the components, "
                                             "BDI, band and the settings used",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqStoreReceipt"}}}},
                      "404": {"description": "No such store", "content": {
                          "application/json": {"schema": {
                              "$ref": "#/components/schemas/Error"}}}}, **_ERRORS},
    }},
}

#: SCORING.md §10 on every figure (``analytics.reliability_json``)
_RELIABILITY = {
    "visits": {"type": "integer", "description": "released mystery-shop visits behind it"},
    "interval": {"type": ["array", "null"], "items": {"type": "number"},
                 "description": "90 % interval [low, high] of the BDI"},
    "bands": {"type": "array", "items": {"type": "string"},
              "description": "bands the interval touches; one band: confirmed"},
    "band_confirmed": {"type": ["boolean", "null"]},
    "change_significant": {"type": ["boolean", "null"]},
}
_GROUP = {"type": "object", "properties": {
    "id": {"type": ["integer", "null"]}, "name": {"type": "string"}, "bdi": _NUM,
    "band": {"type": ["string", "null"]}, "stores_scored": {"type": "integer"},
    "previous_bdi": _NUM, "trend": _NUM, **_RELIABILITY}}
_DIMS = {"type": "object", "properties": {d: _NUM for d in DIMENSIONS}}

OPENAPI_SCHEMAS: dict = {
    "HqGroupScore": _GROUP,
    "HqStoreScore": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "region": {"type": "string"},
        "ms": _NUM, "qa": _NUM, "hl": _NUM, "bdi": _NUM, "band": {"type": ["string", "null"]},
        "rank": {"type": ["integer", "null"]}, "ms_visits": {"type": "integer"},
        "qa_visits": {"type": "integer"}, "complaints": {"type": "integer"},
        **_RELIABILITY}},
    "HqBdi": {"type": "object", "required": ["month", "by"], "properties": {
        "month": {"type": "string"}, "by": {"type": "string"},
        "provisional": {"type": "boolean"},
        "brand": {"type": "object"},
        "stores": {"type": "array", "items": {"$ref": "#/components/schemas/HqStoreScore"}},
        "regions": {"type": "array", "items": {"$ref": "#/components/schemas/HqGroupScore"}}}},
    "HqSeries": {"type": "object", "properties": {
        "month": {"type": "string"}, "months": {"type": "integer"}, "scope": {"type": "object"},
        "series": {"type": "array", "items": {"type": "object", "properties": {
            "month": {"type": "string"}, "bdi": _NUM,
            "provisional": {"type": "boolean"}}}}}},
    "HqVisitReceipt": {"type": "object", "properties": {
        "visit_id": {"type": "integer"}, "items": {"type": "array"},
        "dimensions": {"type": "array"}, "score": _NUM, "stored_score": _NUM, "csm": _NUM}},
    "HqStoreReceipt": {"type": "object", "properties": {
        "store_code": {"type": "string"}, "month": {"type": "string"},
        "mystery": {"type": "array"}, "qa": {"type": "array"}, "complaints": {"type": "array"},
        "components": {"type": "object"}, "bdi": _NUM, "band": {"type": ["string", "null"]},
        "settings": {"type": "object"}}},
    "HqDimensions": {"type": "object", "properties": {
        "month": {"type": "string"}, "by": {"type": "string"},
        "provisional": {"type": "boolean"},
        "groups": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": ["integer", "null"]}, "dimensions": _DIMS}}},
        "competitors": {"type": "array", "items": {"type": "object", "properties": {
            "competitor": {"type": "string"}, "dimensions": _DIMS,
            "visits": {"type": "integer"}, "score": _NUM,
            "interval": _RELIABILITY["interval"]}}}}},
}
