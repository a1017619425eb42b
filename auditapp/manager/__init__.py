"""Store and area managers' portal."""

from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import insights, regions, reports, routes  # noqa: E402,F401
