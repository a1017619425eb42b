"""HQ console: one module per area of the programme."""

from flask import Blueprint

bp = Blueprint("hq", __name__)

from . import (  # noqa: E402,F401
    actions,
    audit,
    complaints,
    deadlines,
    disputes,
    insights,
    integrity_settings,
    masterdata,
    month_end,
    months,
    payments,
    proposals,
    qa,
    questionnaires,
    receipt,
    reports,
    review,
    routes,
    scenarios,
    scheduling,
    settings,
    shoppers,
)
