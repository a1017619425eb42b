"""Login wiring and security headers (who may do what: ``permissions.py``)."""

from __future__ import annotations

import hashlib
import logging
import re

from flask import Flask, request, session
from flask_babel import lazy_gettext as _l
from flask_login import user_loaded_from_cookie
from werkzeug.routing import IntegerConverter

from .extensions import db, login_manager

#: Where a secret can sit in a URL: an assignment link's token (``/shopper/t/<token>``,
#: also before ``/photos/…``), a password reset link's (``/auth/reset/<token>``) and the
#: API's ``?token=`` parameter.
_SECRET_IN_URL = re.compile(
    r"(/shopper/t/|/auth/reset/)[^/?#\s\"']+|([?&]token=)[^&#\s\"']+")


def mask_secrets(text: str) -> str:
    """``text`` (a URL, a request line, a log message) with link tokens replaced by
    ``***``: a link opens its visit to whoever holds it, so logs must not keep it."""
    return _SECRET_IN_URL.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class MaskSecretsFilter(logging.Filter):
    """A logging filter that passes every record on with ``mask_secrets`` applied."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_secrets(a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def mask_secrets_in(logger: logging.Logger) -> None:
    """Mask link tokens in everything ``logger`` logs (once, however often it is called)."""
    if not any(isinstance(f, MaskSecretsFilter) for f in logger.filters):
        logger.addFilter(MaskSecretsFilter())


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
    login_manager._session_identifier_generator = session_identifier  # see its docstring
    # werkzeug's request log (development server) and Flask's "Exception on <path>";
    # gunicorn's access log masks them with the logger class in gunicorn.conf.py
    mask_secrets_in(logging.getLogger("werkzeug"))
    mask_secrets_in(app.logger)
    from . import permissions

    permissions.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        """``user_id`` is ``User.get_id()`` as stored in the session or the remember-me
        cookie: "<id>:<session version>". An old version (after a logout, a new password
        or a deactivation) or the bare id of older cookies loads no one."""
        from .models import User

        number, _, version = user_id.partition(":")
        if not (number.isdigit() and version.isdigit()):
            return None
        user = db.session.get(User, int(number))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    @user_loaded_from_cookie.connect_via(app)
    def bind_remembered_session(_app, user) -> None:
        # Flask-Login opens the session from a remember-me cookie without binding it, so
        # "strong" protection would end it (and the cookie) on the very next request.
        session["_id"] = session_identifier()

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
        if request.endpoint != "static":
            # every page is someone's (signed in, or opened with a link token), or carries a
            # CSRF token: no shared or browser cache keeps it (views may say otherwise)
            headers.setdefault("Cache-Control", "private, no-store")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def session_identifier() -> str:
    """What binds a session to its browser for Flask-Login's "strong" protection: the
    client address and the user agent. Flask-Login's own version takes the first address
    of ``X-Forwarded-For``, which the client writes itself (anyone holding a stolen cookie
    could claim the victim's address); ``request.remote_addr`` is the peer, or the address
    the declared proxies appended (``PROXY_FIX_X_FOR``, see ``register_proxy_fix``)."""
    base = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()
