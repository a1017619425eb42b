"""Query parameters: one converter per kind of value, used by every page and the API.

A value that cannot be used raises ``BadParameter``: a 400 whose translated message names
the parameter. ``main/errors.py`` shows it on the error page; under ``/api`` the API
answers its one JSON error shape (``api/errors.py``: the parameter is the key of
``errors``). Pages with
a month picker call ``month_for_page`` instead, which keeps what was typed in the picker,
shows the message next to it and falls back to the latest month.

Ids are database ``INTEGER``s (32 bits), so a bigger number is refused here rather than
by the database; text never carries a NUL, which PostgreSQL refuses.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from . import analytics

#: The largest id an ``INTEGER`` column holds (the same bound for ``page``).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in a URL: at most MAX_ID, so ``/stores/99999999999`` is a 404 like any
    other store that does not exist (installed for ``int`` by ``create_app``)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


class BadParameter(BadRequest):
    """A query parameter that cannot be used; ``description`` is the message shown."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(description=message)
        self.parameter = parameter

    def __str__(self) -> str:
        return str(self.description)


def _raw(name: str) -> str:
    return (request.args.get(name) or "").strip()


def month(name: str = "month") -> analytics.Period:
    """``?month=YYYY-MM`` (default: the latest month with released visits)."""
    text = _raw(name)
    try:
        return analytics.Period.month(text or analytics.latest_month())
    except analytics.PeriodError as error:
        raise BadParameter(str(error), name) from None


def month_for_page(name: str = "month") -> tuple[analytics.Period, str, str | None]:
    """For a page with a month picker: (the period shown, the text to put back in the
    picker, the message to show next to it). A month that cannot be read shows the
    latest month, with the message and the typed text kept."""
    text = _raw(name)
    try:
        period = analytics.Period.month(text or analytics.latest_month())
    except analytics.PeriodError as error:
        return analytics.Period.month(analytics.latest_month()), text, str(error)
    return period, text or period.label, None


def ident(name: str) -> int | None:
    """An optional id (``?region=3``): None when empty, else a whole number 1…MAX_ID."""
    text = _raw(name)
    if not text:
        return None
    return _whole(name, text)


def page(name: str = "page") -> int:
    """``?page=N`` of a paged list, 1 when not given."""
    text = _raw(name)
    return _whole(name, text) if text else 1


def _whole(name: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise BadParameter(
            _("'%(name)s' must be a whole number from 1 to %(max)s, not %(value)s.",
              name=name, max=MAX_ID, value=repr(text)[:40]),
            name,
        )
    return int(text)


def text(name: str, default: str = "") -> str:
    """Free text (a search, a filter), stripped; refused if it holds a NUL character."""
    value = request.args.get(name)
    if value is None:
        return default
    if "\x00" in value:
        raise BadParameter(
            _("'%(name)s' contains a character that cannot be searched for (NUL).", name=name),
            name,
        )
    return value.strip()
