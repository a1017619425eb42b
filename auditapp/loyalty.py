"""The loyalty question, asked beside the questionnaire on the shopper's last step:
"Would you come back to / recommend this store?", 0 (certainly not) to 10 (certainly).

It is stored in ``visits.loyalty``, never as a questionnaire item, so it is never in a
dimension, the visit score or the BDI (SCORING.md §1–6 are untouched). ``insights.py``
sets it beside the CSM: the share of satisfied visits (CSM ≥ +30) that are not loyal.

A visit is **loyal** when its answer is at least ``LOYAL_MIN`` (9 or 10 of 10: the usual
"promoter" cut of a 0–10 recommendation question). The answer is optional: a shopper
may leave it out (then None, and the visit is left out of the loyalty figures).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

#: The answer's range, both ends included.
LOWEST, HIGHEST = 0, 10
#: A visit is loyal from this answer up.
LOYAL_MIN = 9
#: The payload's fact (HTML field name and API key).
FIELD = "loyalty"


def parse(raw: Any) -> tuple[int | None, str | None]:
    """The answer as sent (form text, JSON number or absent) → (value or None, error
    message or None). Empty means not answered; anything else must be a whole number
    from 0 to 10 (a fraction is refused, never rounded)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, bool):
        return None, problem()
    try:
        number = float(str(raw).strip())
    except ValueError:
        return None, problem()
    if not number.is_integer() or not LOWEST <= number <= HIGHEST:
        return None, problem()
    return int(number), None


def problem() -> str:
    return _("Choose a whole number from %(lo)s to %(hi)s, or leave it empty.",
             lo=LOWEST, hi=HIGHEST)


def is_loyal(value: int | None) -> bool | None:
    return None if value is None else value >= LOYAL_MIN
