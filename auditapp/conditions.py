"""When an item (or a whole dimension) is asked: the one rule, pure Python.

A condition is stored with the questionnaire version (``Item.condition``,
``Dimension.condition``)::

    {"visit_types": ["dine_in"],            # only for these visit types (empty: all)
     "kinds": ["mystery", "competitor"],    # only for these visit kinds (empty: all)
     "when": {"item": "speed_greeted",      # only when an EARLIER item's answer …
              "failed": true}}              # … is failed (SCORING.md §8)

``when`` holds the referenced item's code and one test: ``failed`` / ``passed`` (true),
``eq`` (a list of values), ``lt``, ``gt`` or ``ge`` (a number), ``outside`` ([lo, hi]).
A hidden item is not asked and not scored (like N/A); an item whose referenced item is
hidden, unanswered or N/A is hidden too.

``visible`` is the only implementation the server uses; ``static/js/conditions.js``
mirrors it line by line for the phone form, and ``tests/test_conditions_browser.py`` runs
the same cases through both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import scoring

KINDS: tuple[str, ...] = ("mystery", "qa", "competitor")
#: The tests a ``when`` may hold, with the kind of operand each takes.
TESTS: dict[str, str] = {"failed": "flag", "passed": "flag", "eq": "list", "lt": "number",
                         "gt": "number", "ge": "number", "outside": "range"}


def _number(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool) or raw == "":
        return None
    if isinstance(raw, str) and "_" in raw:  # float() reads "1_0"; JavaScript does not
        return None
    try:
        x = float(raw)
    except (TypeError, ValueError):
        return None
    # compared as exact decimals, as scoring does (SCORING.md §7a)
    return round(x, scoring.THRESHOLD_DECIMALS) if math.isfinite(x) else None


def matches(test: Mapping | None, value: Any, fail_rule: Mapping | None = None) -> bool:
    """Whether an answer's value passes one test (``failed``/``passed`` use the item's
    ``fail_rule``, itself a test: ``item_types.ItemType.fail_rule``)."""
    x = _number(value)
    if x is None or not test:
        return False
    if test.get("failed"):
        return matches(fail_rule, x)
    if test.get("passed"):
        return bool(fail_rule) and not matches(fail_rule, x)
    if "eq" in test:
        return any(_number(v) == x for v in (test["eq"] or []))
    if "lt" in test:
        return _number(test["lt"]) is not None and x < _number(test["lt"])
    if "gt" in test:
        return _number(test["gt"]) is not None and x > _number(test["gt"])
    if "ge" in test:
        return _number(test["ge"]) is not None and x >= _number(test["ge"])
    if "outside" in test:
        lo, hi = (list(test["outside"] or []) + [None, None])[:2]
        lo, hi = _number(lo), _number(hi)
        return lo is not None and hi is not None and (x < lo or x > hi)
    return False


def applies(condition: Mapping | None, visit_type: str, kind: str) -> bool:
    """The static part of a condition: the visit's type and kind."""
    if not condition:
        return True
    types, kinds = condition.get("visit_types") or [], condition.get("kinds") or []
    return (not types or visit_type in types) and (not kinds or kind in kinds)


def visible(items: Sequence[Mapping], answers: Mapping[str, Mapping], visit_type: str,
            kind: str) -> set[str]:
    """The codes of the items asked, in a visit of ``visit_type`` and ``kind`` with these
    ``answers`` (code → {"value", "na"}). ``items`` in questionnaire order, each
    ``{"code", "show": item condition, "dim_show": its dimension's condition,
    "fail": its fail rule}``."""
    shown: set[str] = set()
    by_code: dict[str, Mapping] = {}
    for item in items:
        code = item["code"]
        by_code[code] = item
        show = item.get("show") or {}
        if not applies(item.get("dim_show"), visit_type, kind) \
                or not applies(show, visit_type, kind):
            continue
        when = show.get("when")
        if when:
            ref = when.get("item")
            answer = answers.get(ref) or {}
            if ref not in shown or answer.get("na") \
                    or not matches(when, answer.get("value"), by_code[ref].get("fail")):
                continue
        shown.add(code)
    return shown


def parse_when(test: str, raw: str) -> dict:
    """A ``when`` test from the editor's fields (``ValueError`` when the operand does not
    fit the test): ``eq`` takes "0" or "0, 1"; ``outside`` "2..8"."""
    kind = TESTS.get(test)
    raw = (raw or "").strip()
    if kind is None:
        raise ValueError(test)
    if kind == "flag":
        return {test: True}
    if kind == "list":
        values = [_number(v) for v in raw.replace(";", ",").split(",") if v.strip()]
        if not values or any(v is None for v in values):
            raise ValueError(raw)
        return {test: values}
    if kind == "range":
        parts = [_number(v) for v in raw.replace("–", "..").split("..")]
        if len(parts) != 2 or any(v is None for v in parts) or parts[0] > parts[1]:
            raise ValueError(raw)
        return {test: parts}
    x = _number(raw)
    if x is None:
        raise ValueError(raw)
    return {test: x}


def when_operand(when: Mapping) -> tuple[str, str]:
    """(test, operand as typed) of a stored ``when``, for the editor's fields."""
    def g(v: Any) -> str:
        x = _number(v)
        return f"{x:g}" if x is not None else str(v)

    for key, kind in TESTS.items():
        if key in when:
            value = when[key]
            if kind == "flag":
                return key, ""
            if kind == "list":
                return key, ", ".join(g(v) for v in (value or []))
            if kind == "range":
                lo, hi = (list(value or []) + ["", ""])[:2]
                return key, f"{g(lo)}..{g(hi)}"
            return key, g(value)
    return "", ""


def problems(ordered: Sequence[tuple[str, Mapping | None, bool]],
             dimension_conditions: Sequence[tuple[str, Mapping | None]]) -> list[tuple]:
    """What is wrong with a questionnaire's conditions, as (message code, params):
    ``ordered`` is (item code, condition, whether the type has an answer to test) in
    questionnaire order. A ``when`` may only name an earlier item (so there can be no
    cycle) that exists and has an answer to test."""
    out: list[tuple] = []
    seen: dict[str, bool] = {}
    all_codes = {code for code, _c, _a in ordered}
    for name, condition in dimension_conditions:
        out += _static_problems(name, condition)
        if condition and condition.get("when"):
            out.append(("dimension_when", {"c": name}))
    for code, condition, answerable in ordered:
        out += _static_problems(code, condition)
        when = (condition or {}).get("when")
        if when:
            ref = when.get("item")
            if ref == code or (ref in all_codes and ref not in seen):
                out.append(("later", {"c": code, "ref": ref}))
            elif ref not in seen:
                out.append(("missing", {"c": code, "ref": ref}))
            elif not seen[ref]:
                out.append(("no_answer", {"c": code, "ref": ref}))
            tests = [k for k in TESTS if k in when]
            if len(tests) != 1:
                out.append(("test", {"c": code}))
            else:
                try:
                    parse_when(tests[0], _operand_text(when[tests[0]], TESTS[tests[0]]))
                except (ValueError, TypeError, IndexError):
                    out.append(("test", {"c": code}))
        seen[code] = answerable
    return out


def _operand_text(value: Any, kind: str) -> str:
    if kind == "flag":
        return ""
    if kind == "list":
        return ", ".join(str(v) for v in value)
    if kind == "range":
        return f"{value[0]}..{value[1]}"
    return str(value)


def _static_problems(code: str, condition: Mapping | None) -> list[tuple]:
    if not condition:
        return []
    out = []
    if any(v not in scoring.VISIT_TYPES for v in condition.get("visit_types") or []):
        out.append(("visit_type", {"c": code}))
    if any(k not in KINDS for k in condition.get("kinds") or []):
        out.append(("kind", {"c": code}))
    return out
