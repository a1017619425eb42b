from flask import Blueprint

bp = Blueprint("shopper", __name__)

from . import routes, workforce  # noqa: E402,F401
