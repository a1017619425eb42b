"""The front door: sends each person to their own landing page."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, redirect, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..permissions import landing
from . import bp

log = logging.getLogger(__name__)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(landing(current_user)))


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        log.warning("Health check: the database does not answer: %s", exc)
        db.session.rollback()
        return False


def _redis_answers() -> bool | None:
    """None when no Redis is configured."""
    from redis.exceptions import RedisError

    from ..jobs import redis_connection

    connection = redis_connection()
    if connection is None:
        return None
    try:
        return bool(connection.ping())
    except RedisError as exc:
        log.warning("Health check: Redis does not answer: %s", exc)
        return False
    finally:
        connection.close()


@bp.route("/favicon.ico")
def favicon():
    """The site icon, where browsers look for it even on pages that do not link it."""
    return send_from_directory(current_app.static_folder, "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)


@bp.route("/healthz")
def healthz():
    """For the load balancer: 200 when the database and (when configured) Redis answer,
    else 503 naming what failed."""
    redis = _redis_answers()
    checks = {"database": "ok" if _database_answers() else "failed",
              "redis": "not configured" if redis is None else "ok" if redis else "failed"}
    healthy = "failed" not in checks.values()
    response = jsonify(status="ok" if healthy else "unavailable", checks=checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
