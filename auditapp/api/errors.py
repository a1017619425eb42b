"""The one JSON error shape of ``/api`` (docs/API.md, docs/API-HQ.md).

Every error answered under ``/api`` (by an endpoint, a decorator, or the app's 4xx/5xx
handlers in ``main/errors.py``) is built here::

    {"status": 400, "code": "bad_request",
     "message": "Month must be written YYYY-MM (e.g. 2026-05), not '2026-13'.",
     "errors": {"month": "Month must be written YYYY-MM (e.g. 2026-05), not '2026-13'."}}

- ``status``: the HTTP status again, for clients that only keep the body;
- ``code``: a stable machine-readable word (by default the status's name in snake case,
  e.g. ``not_found``; ``csrf`` for an expired form, ``server_error`` for a 500);
- ``message``: for the user, translated;
- ``errors``: one message per field or parameter (empty when the error is not about one).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify
from werkzeug.http import HTTP_STATUS_CODES


def error_code(status: int) -> str:
    """``404`` → ``not_found``: the status's name in snake case."""
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_").replace("-", "_")


def error_response(status: int, message: str, code: str | None = None,
                   fields: Mapping[str, str] | None = None) -> Response:
    """The JSON error response: ``status``, ``code``, ``message`` and ``errors`` per field."""
    response = jsonify({
        "status": status,
        "code": code or error_code(status),
        "message": str(message),
        "errors": {name: str(text) for name, text in (fields or {}).items()},
    })
    response.status_code = status
    return response


#: The OpenAPI schema of the error shape (components/schemas/Error).
OPENAPI_ERROR_SCHEMA: dict = {
    "type": "object", "required": ["status", "code", "message", "errors"], "properties": {
        "status": {"type": "integer", "description": "The HTTP status"},
        "code": {"type": "string", "description": "not_found, bad_request, csrf, …"},
        "message": {"type": "string", "description": "For the user, translated"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Message per field or parameter: item-<id>, visit_date, "
                                  "photo, month, …"}}}
