"""Limits on what users send, in one place: free text (length, characters a database
cannot store) and JSON request bodies (size, nesting depth). Each check answers with a
message for the user naming the problem, never a 500."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from wtforms.validators import ValidationError

#: Free text a user writes (a comment, the order, a complaint): at most this many characters.
TEXT_LIMIT = 4000


def text_problem(value: str, limit: int | None = TEXT_LIMIT) -> str | None:
    """Why ``value`` cannot be stored as it is, or None. Never shortens it: the user
    decides what to cut."""
    if "\x00" in value:
        return _("The text contains a NUL character (\\0), which cannot be stored. "
                 "Please remove it (it often comes from copying from another program).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("The text contains an invalid character (half of an emoji or a broken "
                 "symbol). Please retype that part.")
    if limit is not None and len(value) > limit:
        return _("This text is %(n)s characters long; at most %(limit)s are allowed. "
                 "Please shorten it: what you wrote is kept below.", n=len(value), limit=limit)
    return None


class StorableText:
    """WTForms validator for free text: refuses what a database cannot store (a NUL
    character, a lone surrogate) with the field's own message; ``Length`` bounds it."""

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and (problem := text_problem(field.data, limit=None)):
            raise ValidationError(problem)


class JsonBodyError(ValueError):
    """A JSON request body we refuse: ``status`` (400 or 413) and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _first_problem(data: Any, max_depth: int) -> str | None:
    """The first string (or key) that cannot be stored, walking the parsed body without
    recursion; raises ``JsonBodyError`` for too deep a nesting."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise _too_deep(max_depth)
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                child_path = f"{path}.{key}" if path else str(key)
                problem = text_problem(key, limit=None) if isinstance(key, str) else None
                if problem:
                    return _("The name %(path)s: %(problem)s", path=repr(child_path[:80]),
                             problem=problem)
                stack.append((child, child_path, depth + 1))
        elif isinstance(node, str):
            problem = text_problem(node, limit=None)
            if problem:
                return _("The field %(path)s: %(problem)s", path=path or "(body)",
                         problem=problem)
    return None


def json_body() -> Any:
    """The request's JSON body, checked: at most ``API_MAX_JSON_BYTES`` (413), valid JSON,
    at most ``API_MAX_JSON_DEPTH`` levels deep, no NUL or lone surrogate in any string
    (400). Raises ``JsonBodyError`` with a message naming the problem; None when the
    request does not say it is JSON."""
    if not request.is_json:
        return None
    max_bytes = current_app.config["API_MAX_JSON_BYTES"]
    max_depth = current_app.config["API_MAX_JSON_DEPTH"]
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes)
    raw = request.stream.read(max_bytes + 1) if request.content_length is None \
        else request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError(400, _("The request is not UTF-8 text.")) from None
    try:
        data = json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except JsonBodyError:
        raise
    except RecursionError:  # the parser recurses once per level, up to Python's limit
        raise _too_deep(max_depth) from None
    except ValueError:
        raise JsonBodyError(400, _("The request is not valid JSON.")) from None
    problem = _first_problem(data, max_depth)
    if problem:
        raise JsonBodyError(400, problem)
    return data


def _too_large(max_bytes: int) -> JsonBodyError:
    return JsonBodyError(413, _("The request is too large: at most %(kb)s KB of JSON.",
                                kb=max_bytes // 1024))


def _too_deep(max_depth: int) -> JsonBodyError:
    return JsonBodyError(400, _("The JSON is nested too deeply (more than %(n)s levels).",
                                n=max_depth))


def _not_a_number(name: str) -> float:
    raise JsonBodyError(400, _("%(name)s is not a JSON number.", name=name))


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a float (1e999) is refused, not
    turned into infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise JsonBodyError(400, _("The number %(n)s is too large.", n=text[:40]))
    return value
