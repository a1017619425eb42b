"""Store managers' portal."""

from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import reports, routes  # noqa: E402,F401
