"""API: HQ's Insights (issue #21) as JSON, the same figures as /hq/insights
(``insights.to_json``). Auth as the other HQ figures (``hq.hq_api``)."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from .. import insights, params
from ..extensions import db
from ..hq.insights import months_param, store_param
from ..models import Region
from ..months import is_provisional
from ..settings import scoring_config
from . import bp
from .hq import _AUTH, _ERRORS, _MONTH, hq_api


@bp.route("/hq/insights")
@hq_api
def hq_insights():
    period = params.month()
    months = months_param()
    region_id = params.ident("region")
    if region_id is not None and db.session.get(Region, region_id) is None:
        raise params.BadParameter(_("Unknown region id %(id)r.", id=region_id), "region")
    store = store_param()
    scope = insights.Scope(region_id=store.region_id if store else region_id,
                           store_id=store.id if store else None)
    data = insights.build_cached(period, months, scope, config=scoring_config(period))
    body = insights.to_json(data)
    body["provisional"] = is_provisional(period)
    return jsonify(body)




OPENAPI_PATHS: dict = {
    "/api/hq/insights": {"get": {
        "summary": "Insights over the months ending with a month: key drivers of the CSM "
                   "and of loyalty, importance–performance, loyalty shares, stores where "
                   "MS, QA and hotline disagree, competitor gaps, item health",
        "description": "Method and minimum samples: docs/INSIGHTS.md. Below the minimum "
                       "sample a figure is null and `enough` is false.",
        "parameters": [
            _MONTH,
            {"name": "months", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 3, "maximum": 36, "default": 12}},
            {"name": "region", "in": "query", "schema": {"type": "integer"},
             "description": "Region id"},
            {"name": "store", "in": "query", "schema": {"type": "string"},
             "description": "Store code (importance–performance of the store against the "
                            "brand)"},
        ],
        "security": _AUTH,
        "responses": {"200": {"description": "The Insights figures",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/HqInsights"}}}}, **_ERRORS},
    }},
}

OPENAPI_SCHEMAS: dict = {
    "HqInsights": {"type": "object", "required": ["month", "window", "drivers"], "properties": {
        "month": {"type": "string"}, "provisional": {"type": "boolean"},
        "window": {"type": "object"}, "scope": {"type": "object"},
        "minimum_sample": {"type": "object"}, "loyal_from": {"type": "integer"},
        "drivers": {"type": "object"}, "importance_from": {"type": "string"},
        "items": {"type": "array"}, "importance_performance": {"type": "object"},
        "loyalty": {"type": "object"}, "triangulation": {"type": "array"},
        "competitors": {"type": "array"}, "item_health": {"type": "array"},
    }},
}
