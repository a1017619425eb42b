"""HQ console: one module per area of the programme."""

from flask import Blueprint

bp = Blueprint("hq", __name__)

from . import (  # noqa: E402,F401
    actions,
    audit,
    complaints,
    disputes,
    insights,
    integrity_settings,
    masterdata,
    months,
    qa,
    questionnaires,
    receipt,
    reports,
    review,
    routes,
    scheduling,
    settings,
)
