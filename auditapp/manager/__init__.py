"""Store and area managers' portal."""

from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import insights, month_reports, regions, reports, routes, scenario_views  # noqa: E402,F401
