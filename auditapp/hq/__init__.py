from flask import Blueprint

bp = Blueprint("hq", __name__)

from . import routes  # noqa: E402,F401
