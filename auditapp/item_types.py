"""The item-type registry: one class per questionnaire item type.

Each class owns everything that differs between types: reading and checking an answer,
its score and failure (delegating to the pure ``scoring.py``), how an answer reads on a
page, in a PDF and in an export, the choices a dispute decision offers, a plausible demo
answer, the type's settings in the questionnaire editor and their checks before
publishing, its label, and its form widget (``templates/items/<code>.html``).

Code elsewhere asks the registry (``of(item)``) and never compares ``item_type`` with a
type's code. An unknown type is an error (``UnknownItemType``), never silently another
type. Adding a type is one class here (registered with ``@register``), one widget
template, and the translations of its strings (see the README).

``item`` below is anything with ``item_type``, ``config`` and ``timed_targets`` (and
``code``): the ``Item`` model or a ``visits.FormItem``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import scoring
from .inputs import text_problem

#: The longest time a timed item accepts (seconds).
TIMED_MAX_SECONDS = 3600
#: The largest magnitude a number item accepts.
NUMBER_MAX = 1_000_000


class UnknownItemType(KeyError):
    """An item whose type no class of the registry handles."""


class AnswerError(ValueError):
    """An answer its type does not accept; the message is for the person answering."""


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        x = float(str(raw).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _fmt(x: float) -> str:
    return f"{x:g}"


def _zh() -> bool:
    from .i18n import is_chinese

    try:
        return is_chinese()
    except RuntimeError:  # outside a request (CLI, jobs): English
        return False


class ItemType:
    """The behaviour every item type shares; subclasses override what differs."""

    code: ClassVar[str]
    label: ClassVar[Any]
    #: Scored types count in S_d; the others (text, photo, info) never do (SCORING.md §9).
    scored: ClassVar[bool] = True
    #: Whether the evaluator answers it (``info`` is only read).
    asked: ClassVar[bool] = True
    #: Whether the answer is a number (stored in ``Answer.value``; else ``Answer.text``).
    numeric: ClassVar[bool] = True
    #: Whether the answer is the photos attached to the item.
    photos: ClassVar[bool] = False

    @property
    def widget(self) -> str:
        """The form widget partial."""
        return f"items/{self.code}.html"

    # --- answering ---------------------------------------------------------------------

    def parse(self, item: Any, raw: Any) -> float | str:
        """The stored value of a raw answer (form text, JSON); ``AnswerError`` with a
        message for the evaluator when the type does not accept it."""
        raise NotImplementedError

    # --- scoring (pure: scoring.py) ----------------------------------------------------

    def scoring_kwargs(self, item: Any, visit_type: str) -> dict:
        """What ``scoring.item_score``/``is_failed`` need besides the value."""
        return {}

    def answer(self, item: Any, visit_type: str, value: Any, na: bool, *, dimension: str,
               weight: float, critical: bool) -> scoring.ItemAnswer:
        """The answer as the scoring engine sees it."""
        kwargs = self.scoring_kwargs(item, visit_type)
        return scoring.ItemAnswer(dimension=dimension, item_type=self.code,
                                  value=value if self.numeric else None, na=na,
                                  weight=weight, critical=critical, **kwargs)

    def score(self, item: Any, visit_type: str, value: Any) -> float | None:
        """Item score s of an answered, non-N/A item; None for the unscored types."""
        if not self.scored:
            return None
        return scoring.item_score(self.code, value, **self.scoring_kwargs(item, visit_type))

    def failed(self, item: Any, visit_type: str, value: Any) -> bool:
        """Failed in the sense of SCORING.md §8."""
        if not self.scored or value is None:
            return False
        kwargs = self.scoring_kwargs(item, visit_type)
        kwargs.pop("target", None)
        return scoring.is_failed(self.code, value, **kwargs)

    def fail_rule(self, item: Any, visit_type: str) -> dict | None:
        """``failed`` as data, for the conditions (``conditions.matches``, mirrored by
        static/js/conditions.js): one test on the answer's value; None: never fails."""
        return None

    # --- display -----------------------------------------------------------------------

    def display(self, item: Any, visit_type: str, value: Any, text: str = "", *,
                detail: bool = False) -> str:
        """How an answered, non-N/A answer reads (pages, PDFs); ``detail`` adds what it
        is judged against (the target, the range)."""
        return _fmt(value) if value is not None else text

    def export_cell(self, item: Any, value: Any, text: str = "") -> Any:
        """The answer in a CSV/XLSX cell."""
        if value is None:
            return text
        return int(value) if float(value).is_integer() else value

    def hint(self, item: Any, visit_type: str) -> str:
        """A short line under the question on the form (target, range), or ""."""
        return ""

    def dispute_choices(self, item: Any) -> list[tuple[str, str]]:
        """The corrected values HQ may choose when upholding a dispute; [] means a free
        number (or, for unscored types, nothing to correct)."""
        return []

    def demo_value(self, item: Any, visit_type: str, quality: float,
                   rng: random.Random) -> float | str | None:
        """A plausible answer for a store of underlying quality 0–1."""
        return None

    # --- the questionnaire editor ------------------------------------------------------

    def config_from_form(self, form: Any) -> dict | None:
        """The type's settings from the item form (``hq/forms.py``)."""
        return None

    def config_to_form(self, item: Any, form: Any) -> None:
        """Fill the item form's settings fields from ``item``."""

    def config_problems(self, item: Any) -> list[str]:
        """What stops publishing an item of this type (empty: nothing)."""
        return []

    def summary(self, item: Any) -> str:
        """The settings in one line for the questionnaire page (targets, options, range)."""
        return ""


REGISTRY: dict[str, ItemType] = {}


def register(cls: type[ItemType]) -> type[ItemType]:
    REGISTRY[cls.code] = cls()
    return cls


def get(code: str) -> ItemType:
    try:
        return REGISTRY[code]
    except KeyError:
        raise UnknownItemType(code) from None


def of(item: Any) -> ItemType:
    """The type of ``item`` (``UnknownItemType`` for a type no class handles)."""
    return get(item.item_type)


def label(code: str) -> str:
    kind = REGISTRY.get(code)
    return str(kind.label) if kind is not None else code


def choices() -> list[tuple[str, Any]]:
    """(code, label) of every type, for the editor's select."""
    return [(code, kind.label) for code, kind in REGISTRY.items()]


def answer_text(item: Any, answer: Any, visit_type: str, *, detail: bool = False) -> str:
    """How an answer (an ``Answer`` or None) reads: not answered, voided, N/A or the
    type's own text."""
    if answer is None:
        return _("Not answered")
    if getattr(answer, "voided", False):
        return _("Voided after dispute")
    if answer.na:
        return _("N/A")
    kind = of(item)
    if kind.numeric and answer.value is None:
        return _("N/A")
    return kind.display(item, visit_type, answer.value, getattr(answer, "text", "") or "",
                        detail=detail)


# --- the types --------------------------------------------------------------------------


@register
class YesNo(ItemType):
    code = scoring.YESNO
    label = _l("Yes / no")

    def parse(self, item, raw):
        x = _number(raw)
        if x not in (0.0, 1.0):
            raise AnswerError(_("Please choose yes or no."))
        return x

    def fail_rule(self, item, visit_type):
        return {"eq": [0]}

    def display(self, item, visit_type, value, text="", *, detail=False):
        return _("Yes") if value >= 1 else _("No")

    def export_cell(self, item, value, text=""):
        return _("Yes") if value >= 1 else _("No")

    def dispute_choices(self, item):
        return [("1", _("Yes")), ("0", _("No"))]

    def demo_value(self, item, visit_type, quality, rng):
        return 1.0 if rng.random() < 0.55 + 0.43 * quality else 0.0


@register
class Scale7(ItemType):
    code = scoring.SCALE7
    label = _l("Satisfaction (7 levels)")

    def parse(self, item, raw):
        x = _number(raw)
        if x not in scoring.SCALE7_LEVELS:
            raise AnswerError(_("Please choose one of the seven levels."))
        return x

    def fail_rule(self, item, visit_type):
        return {"lt": 0}

    def display(self, item, visit_type, value, text="", *, detail=False):
        from .i18n import csm_label, paren

        level = int(value)
        return csm_label(level) + (paren(f"{level:+d}" if level else "0") if detail else "")

    def dispute_choices(self, item):
        from .i18n import csm_label

        return [(str(level), csm_label(level)) for level in scoring.SCALE7_LEVELS]

    def demo_value(self, item, visit_type, quality, rng):
        centre = -20 + 100 * quality + rng.gauss(0, 30)
        return float(min(scoring.SCALE7_LEVELS, key=lambda level: abs(level - centre)))


@register
class Timed(ItemType):
    code = scoring.TIMED
    label = _l("Timed")

    def parse(self, item, raw):
        x = _number(raw)
        if x is None or not 0 <= x <= TIMED_MAX_SECONDS:
            raise AnswerError(_("Enter a time between 0 and %(max)s seconds.",
                                max=TIMED_MAX_SECONDS))
        if not x.is_integer():
            raise AnswerError(_("Enter whole seconds (e.g. 250): a time is not rounded "
                                "for you."))
        return int(x)

    def scoring_kwargs(self, item, visit_type):
        target, limit = scoring.timed_target(visit_type, item.timed_targets)
        return {"target": target, "limit": limit}

    def fail_rule(self, item, visit_type):
        return {"ge": scoring.timed_target(visit_type, item.timed_targets)[1]}

    def display(self, item, visit_type, value, text="", *, detail=False):
        if detail:
            target, limit = scoring.timed_target(visit_type, item.timed_targets)
            return _("%(s)s s (target %(t)s s, limit %(l)s s)", s=f"{value:.0f}",
                     t=f"{target:.0f}", l=f"{limit:.0f}")
        return _("%(s)s s", s=f"{value:.0f}")

    def hint(self, item, visit_type):
        target = scoring.timed_target(visit_type, item.timed_targets)[0]
        return _("Target %(t)s s", t=f"{target:.0f}")

    def demo_value(self, item, visit_type, quality, rng):
        target, limit = scoring.timed_target(visit_type, item.timed_targets)
        mean = target + (limit - target) * (1.05 - quality) * 0.8
        return float(max(20, round(rng.gauss(mean, (limit - target) * 0.25))))

    def summary(self, item):
        from .i18n import VISIT_TYPE_LABELS

        targets = item.timed_targets or {}
        return " · ".join(
            f"{VISIT_TYPE_LABELS.get(vt, vt)} "
            + _("T %(t)s s / L %(l)s s", t=_fmt(tl[0]), l=_fmt(tl[1]))
            for vt, tl in targets.items())


def _options(item) -> list[dict]:
    return list((item.config or {}).get("options") or [])


def option_text(option: Mapping) -> str:
    return (option.get("text_zh") if _zh() and option.get("text_zh") else option.get("text")) \
        or ""


@register
class Choice(ItemType):
    """One option of a list; each option has points 0–100 (SCORING.md §9). The answer
    is the option's index."""

    code = scoring.CHOICE
    label = _l("Choice (options with points)")

    def parse(self, item, raw):
        x = _number(raw)
        if x is None or not x.is_integer() or not 0 <= x < len(_options(item)):
            raise AnswerError(_("Please choose one of the options."))
        return x

    def scoring_kwargs(self, item, visit_type):
        return {"points": tuple(float(o.get("points", 0)) for o in _options(item))}

    def fail_rule(self, item, visit_type):
        return {"eq": [i for i, o in enumerate(_options(item))
                       if float(o.get("points", 0)) == 0]}

    def display(self, item, visit_type, value, text="", *, detail=False):
        options = _options(item)
        i = int(value)
        if not 0 <= i < len(options):
            return _fmt(value)
        out = option_text(options[i])
        if detail:
            from .i18n import paren

            out += paren(_("%(p)s points", p=_fmt(float(options[i].get("points", 0)))))
        return out

    def export_cell(self, item, value, text=""):
        return self.display(item, "", value)

    def dispute_choices(self, item):
        return [(str(i), option_text(o)) for i, o in enumerate(_options(item))]

    def demo_value(self, item, visit_type, quality, rng):
        options = _options(item)
        # better stores pick the options with more points more often
        ranked = sorted(range(len(options)), key=lambda i: -float(options[i].get("points", 0)))
        pick = min(len(ranked) - 1, int(rng.random() * (1.6 - quality) * len(ranked) / 1.6))
        return float(ranked[pick])

    def config_from_form(self, form):
        options = []
        for line in (form.options.data or "").splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            points = _number(parts[0])
            options.append({"points": points if points is not None else parts[0],
                            "text": parts[1] if len(parts) > 1 else "",
                            "text_zh": parts[2] if len(parts) > 2 else ""})
        return {"options": options}

    def config_to_form(self, item, form):
        form.options.data = "\n".join(
            " | ".join([_fmt(float(o.get("points", 0))), o.get("text", ""),
                        o.get("text_zh", "")]).rstrip(" |")
            for o in _options(item))

    def config_problems(self, item):
        options = _options(item)
        problems = []
        if len(options) < 2:
            problems.append(_("Item %(c)s: a choice needs at least two options.", c=item.code))
        for n, o in enumerate(options, 1):
            points = o.get("points")
            if not isinstance(points, int | float) or isinstance(points, bool) \
                    or not 0 <= points <= 100:
                problems.append(_("Item %(c)s, option %(n)s: the points must be a number "
                                  "from 0 to 100.", c=item.code, n=n))
            if not str(o.get("text") or "").strip():
                problems.append(_("Item %(c)s, option %(n)s: enter the option's text.",
                                  c=item.code, n=n))
        return problems

    def summary(self, item):
        return " · ".join(f"{option_text(o)} = {_fmt(float(o.get('points', 0)))}"
                          for o in _options(item))


def _range(item) -> tuple[float | None, float | None, str]:
    config = item.config or {}
    return _number(config.get("lo")), _number(config.get("hi")), str(config.get("unit") or "")


@register
class Number(ItemType):
    """A number with an acceptable range [lo, hi] (e.g. a food temperature in °C):
    100 inside the range, bounds included, else 0 (SCORING.md §9)."""

    code = scoring.NUMBER
    label = _l("Number (with a range)")

    def parse(self, item, raw):
        x = _number(raw)
        if x is None or abs(x) > NUMBER_MAX:
            raise AnswerError(_("Enter a number, e.g. 4.5."))
        return x

    def scoring_kwargs(self, item, visit_type):
        lo, hi, _unit = _range(item)
        return {"lo": lo, "hi": hi}

    def fail_rule(self, item, visit_type):
        lo, hi, _unit = _range(item)
        return {"outside": [lo, hi]}

    def display(self, item, visit_type, value, text="", *, detail=False):
        lo, hi, unit = _range(item)
        out = f"{_fmt(value)} {unit}".strip()
        if detail and lo is not None and hi is not None:
            from .i18n import paren

            out += paren(_("range %(lo)s to %(hi)s", lo=_fmt(lo), hi=_fmt(hi)))
        return out

    def hint(self, item, visit_type):
        lo, hi, unit = _range(item)
        if lo is None or hi is None:
            return ""
        return _("Acceptable: %(lo)s to %(hi)s %(unit)s", lo=_fmt(lo), hi=_fmt(hi),
                 unit=unit).strip()

    def demo_value(self, item, visit_type, quality, rng):
        lo, hi, _unit = _range(item)
        lo, hi = lo or 0.0, hi if hi is not None else 1.0
        if rng.random() < 0.7 + 0.28 * quality:
            return round(rng.uniform(lo, hi), 1)
        return round(hi + rng.uniform(0.5, 4.0), 1)

    def config_from_form(self, form):
        return {"lo": form.range_lo.data, "hi": form.range_hi.data,
                "unit": (form.unit.data or "").strip()}

    def config_to_form(self, item, form):
        lo, hi, unit = _range(item)
        form.range_lo.data, form.range_hi.data, form.unit.data = lo, hi, unit

    def config_problems(self, item):
        lo, hi, _unit = _range(item)
        if lo is None or hi is None:
            return [_("Item %(c)s: enter the acceptable range (low and high).", c=item.code)]
        if hi < lo:
            return [_("Item %(c)s: the high bound must be at least the low bound.",
                      c=item.code)]
        return []

    def summary(self, item):
        return self.hint(item, "")


@register
class Text(ItemType):
    """Free text; never scored."""

    code = scoring.TEXT
    label = _l("Text (not scored)")
    scored = False
    numeric = False

    def parse(self, item, raw):
        text = "" if raw is None else str(raw).strip()
        if not text:
            raise AnswerError(_("Please answer this question."))
        if problem := text_problem(text):
            raise AnswerError(problem)
        return text

    def display(self, item, visit_type, value, text="", *, detail=False):
        return text

    def demo_value(self, item, visit_type, quality, rng):
        return rng.choice(["The fries were missing. 少了薯条。",
                           "A cola instead of the iced tea ordered. 点的冰茶给成了可乐。",
                           "No sauce in the bag. 袋里没有酱料。"])


@register
class PhotoItem(ItemType):
    """Required photo(s) attached to the item; never scored. The answer is how many
    photos the item has (the submission counts them)."""

    code = scoring.PHOTO
    label = _l("Photo (not scored)")
    scored = False
    photos = True

    def parse(self, item, raw):
        x = _number(raw)
        if not x or x < 1:
            raise AnswerError(_("Add a photo to this question."))
        return x

    def display(self, item, visit_type, value, text="", *, detail=False):
        from flask_babel import ngettext

        n = int(value or 0)
        return ngettext("%(num)d photo", "%(num)d photos", n)


@register
class Info(ItemType):
    """An instruction to read; never answered, never scored."""

    code = scoring.INFO
    label = _l("Instruction (not asked)")
    scored = False
    asked = False

    def parse(self, item, raw):
        return ""

    def display(self, item, visit_type, value, text="", *, detail=False):
        return ""
