"""Friendly error pages (HTML) and, for the API, its JSON errors (``api/errors.py``)."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..api.errors import error_response
from ..extensions import db
from ..params import BadParameter


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _error_headers(error: HTTPException) -> list[tuple[str, str]]:
    """The headers werkzeug gives the error (``Allow`` on a 405, ``WWW-Authenticate`` on a
    401, ``Retry-After``…), less its Content-Type: our page or JSON sets its own."""
    return [(name, value) for name, value in error.get_headers()
            if name.lower() != "content-type"]


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _("Your session has expired or the form was sent twice. "
                    "Reload the page and try again: what you typed is kept in the form.")
        if _wants_json():
            return error_response(400, message, code="csrf")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("This page does not exist, or you may not see it."),
            405: _("This action is not allowed here."),
            413: _("The upload is too large: a form with its photos may be at most "
                   "%(limit)s MB. Send fewer or smaller photos at a time.",
                   limit=f"{(current_app.config.get('MAX_CONTENT_LENGTH') or 0) / 1048576:.0f}"),
            429: _("Too many attempts. Please wait a few minutes and try again."),
        }
        code = error.code or 500
        message = messages.get(code, error.description or _("Something went wrong."))
        headers = _error_headers(error)
        if isinstance(error, BadParameter):  # names the parameter and what it must be
            message = error.description
        if _wants_json():
            response = error_response(code, message)
            response.headers.extend(headers)
            return response
        return render_template("errors/error.html", code=code, message=message), code, headers

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        message = _("Something went wrong on our side. Nothing you sent was lost; "
                    "please try again.")
        if _wants_json():
            return error_response(500, message, code="server_error")
        return render_template("errors/error.html", code=500, message=message), 500
