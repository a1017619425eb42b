"""JSON API, documented in docs/API.md and described by /api/openapi.json."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import hq, insights, recovery, routes, shopper  # noqa: E402,F401
