"""HQ console: one module per area of the programme."""

from flask import Blueprint

bp = Blueprint("hq", __name__)

from . import (  # noqa: E402,F401
    actions,
    audit,
    complaints,
    disputes,
    integrity_settings,
    masterdata,
    months,
    payments,
    qa,
    questionnaires,
    receipt,
    reports,
    review,
    routes,
    scheduling,
    settings,
    shoppers,
)
