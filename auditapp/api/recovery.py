"""API: the recovery score of scenario shops (issue #24, SCORING.md §13) for BI tools.

RS is a store's mean over its released scenario visits in the three months ending with the
month, with n; region and brand are the mean of their stores' RS. Same figures as the HQ
pages, PDFs and exports (``scenarios.py``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from .. import params, scenarios
from ..months import is_provisional
from . import bp
from .hq import _AUTH, _BY, _ERRORS, _MONTH, _NUM, _choice, hq_api


@bp.route("/hq/recovery")
@hq_api
def hq_recovery():
    period = params.month()
    by = _choice("by", ("store", "region", "brand"), "store")
    window = scenarios.rs_window(period)
    brand = scenarios.brand_recovery(period)
    body: dict[str, Any] = {
        "month": period.label, "by": by, "provisional": is_provisional(period),
        "window": {"first": f"{window.start:%Y-%m}", "last": period.label},
        "brand": {"rs": brand.rs, "stores": brand.stores, "n": brand.visits},
        "steps": [{"step": s.number, "code": s.code, "visits": s.visits, "missed": s.missed}
                  for s in sorted(scenarios.step_figures(period), key=lambda s: s.number)],
    }
    if by == "store":
        body["stores"] = [{"code": r.code, "name": r.name, "region": r.region_name,
                           "rs": r.rs, "n": r.n, "rank": r.rank}
                          for r in scenarios.store_recovery(period)]
    elif by == "region":
        body["regions"] = [{"id": r.id, "name": r.name, "rs": r.rs, "stores": r.stores,
                            "n": r.visits} for r in scenarios.region_recovery(period)]
    return jsonify(body)


OPENAPI_PATHS: dict = {
    "/api/hq/recovery": {"get": {
        "summary": "Recovery score (scenario shops) per store, region or brand, rolling "
                   "three months, with n and the steps staff missed",
        "parameters": [
            _MONTH,
            _BY,
        ],
        "security": _AUTH,
        "responses": {"200": {"description": "RS figures (0–100)",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqRecovery"}}}}, **_ERRORS},
    }},
}
OPENAPI_SCHEMAS: dict = {
    "HqRecovery": {"type": "object", "properties": {
        "month": {"type": "string"}, "by": {"type": "string"},
        "provisional": {"type": "boolean"},
        "window": {"type": "object", "properties": {"first": {"type": "string"},
                                                    "last": {"type": "string"}}},
        "brand": {"type": "object", "properties": {"rs": _NUM, "stores": {"type": "integer"},
                                                   "n": {"type": "integer"}}},
        "steps": {"type": "array", "items": {"type": "object", "properties": {
            "step": {"type": "integer"}, "code": {"type": "string"},
            "visits": {"type": "integer"}, "missed": {"type": "integer"}}}},
        "stores": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "region": {"type": "string"}, "rs": {"type": "number"},
            "n": {"type": "integer"}, "rank": {"type": "integer"}}}},
        "regions": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "rs": _NUM,
            "stores": {"type": "integer"}, "n": {"type": "integer"}}}},
    }},
}
