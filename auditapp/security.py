"""Who may do what: login wiring, role checks and security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .extensions import db, login_manager


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` in URLs, limited to what an INTEGER column holds (32 bits on PostgreSQL):
    a bigger number is no route (404), not a database error (500)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = 2**31 - 1, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    # before the blueprints add their routes
    app.url_map.converters["int"] = DatabaseIntConverter
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from .models import User

        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; worker-src 'self'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def roles_required(*roles: str) -> Callable:
    """Allow only logged-in, active users with one of ``roles``; 403 for the others."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_view_visit(user, visit) -> bool:
    """Who may see a visit (and its photos): HQ and QA all; a shopper or auditor their own;
    a manager only released visits of their own stores."""
    from .models import HQ_ADMIN, MANAGER, QA_AUDITOR
    from .models.visit import COUNTED_STATUSES

    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (HQ_ADMIN, QA_AUDITOR):
        return True
    if user.role == MANAGER:
        return visit.status in COUNTED_STATUSES and user.manages(visit.store_id)
    return visit.evaluator_id == user.id
