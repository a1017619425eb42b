"""Languages (English and Simplified Chinese) and the labels of the product's vocabulary.

The locale follows the user's own setting, else the ``lang`` chosen with the switch in the
page header, else the browser's ``Accept-Language``. Every user-facing label of a code
(dimension, visit type, band, status, CSM level …) comes from here so screens, PDFs and
exports say the same thing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import date, datetime, time
from functools import wraps
from zoneinfo import ZoneInfo

from babel import support
from flask import Flask, current_app, request, session
from flask_babel import (
    Domain,
    force_locale,
    format_date,
    format_datetime,
    get_locale,
    gettext,
    lazy_pgettext,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import scoring

LOCALES = {"en": "English", "zh_CN": "简体中文"}

DIMENSION_LABELS = {
    "speed": _l("Speed of service"),
    "courtesy": _l("Courtesy"),
    "accuracy": _l("Order accuracy"),
    "quality": _l("Product quality"),
    "cleanliness": _l("Cleanliness and atmosphere"),
}
VISIT_TYPE_LABELS = {
    "drive_thru": _l("Drive-thru"),
    "walk_in": _l("Walk-in (takeaway)"),
    "dine_in": _l("Dine-in"),
}
VISIT_KIND_LABELS = {
    "mystery": _l("Mystery shop"),
    "qa": _l("QA audit"),
    "competitor": _l("Competitor benchmark"),
}
#: Paradata events (``models.integrity``), shown to HQ only.
PARADATA_LABELS = {
    "opened": _l("Form first opened"),
    "checkin": _l("Check-in"),
    "timer_start": _l("Timer started"),
    "timer_stop": _l("Timer stopped"),
    "step": _l("Step left"),
    "draft": _l("Draft saved"),
    "submit": _l("Submitted"),
}
STATUS_LABELS = {
    "assigned": _l("Assigned"),
    "in_progress": _l("In progress"),
    "submitted": _l("Awaiting review"),
    "returned": _l("Returned for correction"),
    "released": _l("Released"),
    "disputed": _l("Disputed"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
}
#: The optional notifications, as "My account" lists them.
NOTIFICATION_EVENT_LABELS = {
    "assignment_due_soon": _l("Assignment due within 48 hours"),
    "assignment_overdue": _l("Assignment overdue"),
    "assignment_extended": _l("Assignment given a new due date"),
    "visit_returned": _l("Visit returned for correction"),
    "visit_rejected": _l("Visit rejected"),
    "visit_released": _l("Audit released"),
    "hot_alert": _l("Hot alert (a critical item failed)"),
    "dispute_decided": _l("Dispute decided"),
    "complaint_recorded": _l("Customer complaint recorded"),
    "action_due_soon": _l("Corrective action due within 48 hours"),
    "action_overdue": _l("Corrective action overdue"),
    "assignments_overdue_hq": _l("Assignments overdue"),
    "action_escalated": _l("Corrective action escalated"),
    "complaint_overdue": _l("Complaint overdue"),
    "month_ready_to_close": _l("Month ready to close"),
}
ACTION_STATUS_LABELS = {
    "open": _l("Open"),
    "done": _l("Done"),
    "verified": _l("Verified"),
    "confirmed": _l("Confirmed by the next visit"),
}
DISPUTE_STATUS_LABELS = {
    "open": _l("Open"),
    "upheld": _l("Upheld"),
    "rejected": _l("Rejected"),
}
#: A dispute's status as its store manager reads it, on the visit it disputes.
DISPUTE_OUTCOME_LABELS = {
    "open": _l("waiting for HQ"),
    "upheld": _l("upheld by HQ"),
    "rejected": _l("rejected by HQ"),
}
#: SCORING.md §11: an open month's figures, on every page, PDF, export, API answer and CLI.
PROVISIONAL_LABEL = _l("Provisional")
FINAL_LABEL = _l("Final (month closed)")
PROVISIONAL_NOTE = _l("This month is open: its figures are provisional until HQ closes it.")

BAND_LABELS = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "fair": _l("Fair"),
    "needs_improvement": _l("Needs improvement"),
}
#: CSM levels: Chinese names are the reference (SCORING.md §2); English shown in English.
CSM_LABELS = {
    -90: _l("Very dissatisfied"),
    -60: _l("Dissatisfied"),
    -30: _l("Somewhat dissatisfied"),
    0: _l("Neutral"),
    30: _l("Somewhat satisfied"),
    60: _l("Satisfied"),
    90: _l("Very satisfied"),
}
CSM_LABELS_ZH = {
    -90: "十分不满意",
    -60: "不满意",
    -30: "较不满意",
    0: "基本可以",
    30: "较满意",
    60: "满意",
    90: "十分满意",
}
ROLE_LABELS = {
    "hq_admin": _l("HQ administrator"),
    "qa_auditor": _l("QA auditor"),
    "area_manager": _l("Area manager"),
    "manager": _l("Store manager"),
    "shopper": _l("Mystery shopper"),
}
#: Complaint severities (the context keeps "Critical" apart from a critical questionnaire item).
SEVERITY_LABELS = {
    "minor": lazy_pgettext("complaint severity", "Minor"),
    "major": lazy_pgettext("complaint severity", "Major"),
    "critical": lazy_pgettext("complaint severity", "Critical"),
}
#: Dayparts (store time, minutes from midnight, each ending where the next begins): a
#: store sees the visit's daypart, not the exact minute, unless HQ allows exact times
#: (setting ``privacy.exact_times``).
DAYPARTS: tuple[tuple[int, int, object], ...] = (
    (0, 6 * 60, _l("night")),
    (6 * 60, 10 * 60 + 30, _l("breakfast")),
    (10 * 60 + 30, 14 * 60, _l("lunch")),
    (14 * 60, 17 * 60, _l("afternoon")),
    (17 * 60, 21 * 60, _l("dinner")),
    (21 * 60, 24 * 60, _l("evening")),
)


#: The audit trail's entities and actions (codes in the database, labels on the page).
AUDIT_ENTITY_LABELS = {
    "visit": lazy_pgettext("audit log", "Visit"),
    "complaint": lazy_pgettext("audit log", "Complaint"),
    "dispute": lazy_pgettext("audit log", "Dispute"),
    "corrective_action": lazy_pgettext("audit log", "Corrective action"),
    "setting": lazy_pgettext("audit log", "Setting"),
    "questionnaire": lazy_pgettext("audit log", "Questionnaire"),
    "user": lazy_pgettext("audit log", "Account"),
    "region": lazy_pgettext("audit log", "Region"),
    "store": lazy_pgettext("audit log", "Store"),
    "competitor": lazy_pgettext("audit log", "Competitor"),
    "schedule": lazy_pgettext("audit log", "Schedule"),
}
AUDIT_ACTION_LABELS = {
    "acknowledge": lazy_pgettext("audit log", "Marked as read"),
    "add_item": lazy_pgettext("audit log", "Item added"),
    "create": lazy_pgettext("audit log", "Created"),
    "create_qa": lazy_pgettext("audit log", "QA audit started"),
    "deactivate": lazy_pgettext("audit log", "Deactivated"),
    "delete_item": lazy_pgettext("audit log", "Item removed"),
    "discard_draft": lazy_pgettext("audit log", "Draft deleted"),
    "disputed": lazy_pgettext("audit log", "Disputed"),
    "done": lazy_pgettext("audit log", "Marked done"),
    "edit_dimension": lazy_pgettext("audit log", "Dimension edited"),
    "edit_item": lazy_pgettext("audit log", "Item edited"),
    "file": lazy_pgettext("audit log", "Dispute filed"),
    "generate": lazy_pgettext("audit log", "Visits scheduled"),
    "handling": lazy_pgettext("audit log", "Handling recorded"),
    "import": lazy_pgettext("audit log", "Imported"),
    "import_update": lazy_pgettext("audit log", "Updated by import"),
    "issue_api_token": lazy_pgettext("audit log", "API token issued"),
    "move_item": lazy_pgettext("audit log", "Item moved"),
    "new_version": lazy_pgettext("audit log", "New version"),
    "publish": lazy_pgettext("audit log", "Published"),
    "reactivate": lazy_pgettext("audit log", "Reactivated"),
    "reassign": lazy_pgettext("audit log", "Reassigned"),
    "reject": lazy_pgettext("audit log", "Dispute rejected"),
    "release": lazy_pgettext("audit log", "Released"),
    "rename": lazy_pgettext("audit log", "Renamed"),
    "reopen": lazy_pgettext("audit log", "Sent back to the store"),
    "rescored": lazy_pgettext("audit log", "Score recalculated"),
    "resolve": lazy_pgettext("audit log", "Resolved"),
    "retire": lazy_pgettext("audit log", "Retired"),
    "return": lazy_pgettext("audit log", "Returned for correction"),
    "revoke_api_token": lazy_pgettext("audit log", "API token revoked"),
    "start": lazy_pgettext("audit log", "Started"),
    "status": lazy_pgettext("audit log", "Status changed"),
    "submit": lazy_pgettext("audit log", "Submitted"),
    "update": lazy_pgettext("audit log", "Changed"),
    "uphold": lazy_pgettext("audit log", "Dispute upheld"),
    "verify": lazy_pgettext("audit log", "Verified"),
}


def select_locale() -> str:
    supported = list(current_app.config.get("LANGUAGES", LOCALES))
    user = current_user
    if user and getattr(user, "is_authenticated", False) and user.locale in supported:
        return user.locale
    chosen = session.get("lang")
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(supported) or supported[0]


def language_code(locale: object) -> str:
    """The code in ``LANGUAGES`` of a locale (``zh_Hans_CN`` as Babel spells Chinese, a
    user's preference, ``None``): ``zh_CN`` for any Chinese, else the code itself when
    supported, else the default."""
    supported = list(current_app.config.get("LANGUAGES", LOCALES))
    value = str(locale or "")
    if value.lower().startswith("zh") and "zh_CN" in supported:
        return "zh_CN"
    if value in supported:
        return value
    return current_app.config.get("BABEL_DEFAULT_LOCALE", supported[0])


def select_timezone() -> str:
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC")


def is_chinese() -> bool:
    return str(get_locale() or "en").startswith("zh")


def label(mapping: dict, code: object) -> str:
    value = mapping.get(code)
    return str(value) if value is not None else ("" if code is None else str(code))


def csm_label(level: int | None) -> str:
    if level is None:
        return "–"
    if is_chinese():
        return CSM_LABELS_ZH[level]
    return str(CSM_LABELS[level])


# --- reliability (SCORING.md §10): one wording for every page, PDF, export and the CLI ----


def fmt_interval(span: scoring.Interval | None) -> str:
    """"74–90": the 90 % interval in whole points, rounded outwards (never narrower)."""
    if span is None:
        return "–"
    return f"{math.floor(span.low + 1e-9):.0f}–{math.ceil(span.high - 1e-9):.0f}"


def interval_text(figure: object) -> str:
    """"(74–90, n=1)" for a store, region or brand figure (``interval``, ``visits``), or
    "" without a BDI."""
    span = getattr(figure, "interval", None) if figure is not None else None
    if span is None:
        return ""
    return gettext("(%(interval)s, n=%(n)s)", interval=fmt_interval(span), n=figure.visits)


def figure_text(figure: object) -> str:
    """"82.4 (74–90, n=1)": the BDI with its interval and visit count."""
    value = getattr(figure, "bdi", None) if figure is not None else None
    if value is None:
        return scoring.fmt_score(None)
    return f"{scoring.fmt_score(value)} {interval_text(figure)}"


def band_range_label(bands: tuple[str, ...]) -> str:
    """"Good", or "Fair–Good" when the interval touches several bands (lowest–highest)."""
    if not bands:
        return ""
    if len(bands) == 1:
        return label(BAND_LABELS, bands[0])
    return gettext("%(low)s–%(high)s", low=label(BAND_LABELS, bands[0]),
                   high=label(BAND_LABELS, bands[-1]))


def band_status(bands: tuple[str, ...]) -> str:
    """"confirmed" when the whole interval lies in one band, else "provisional"."""
    if not bands:
        return ""
    return gettext("confirmed") if len(bands) == 1 else gettext("provisional")


def band_text(figure: object) -> str:
    """"Good, confirmed" / "Fair–Good, provisional" (plain text: PDFs, exports, CLI)."""
    bands = getattr(figure, "bands", ()) if figure is not None else ()
    if not bands:
        return ""
    return gettext("%(band)s, %(status)s", band=band_range_label(bands),
                   status=band_status(bands))


def change_text(figure: object) -> str:
    """"+3.2" for a significant change, "no clear change" otherwise, "–" without one."""
    delta = getattr(figure, "trend", None) if figure is not None else None
    if delta is None:
        return "–"
    if not figure.change_significant:
        return gettext("no clear change")
    return ("+" if delta > 0 else "") + scoring.fmt_score(delta)


def paren(text: object) -> str:
    """``text`` in brackets after a name: full-width （） in Chinese, `` (…)`` in English."""
    return f"（{text}）" if is_chinese() else f" ({text})"


def page_footer_parts() -> tuple[str, str, str]:
    """The PDF footer "Page X of Y" as one translated sentence, cut at its two numbers
    (the page counters are CSS's): ``("Page", "of", "")``, ``("第", "页，共", "页")``."""
    text = gettext("Page %(n)d of %(m)d")
    before, rest = text.split("%(n)d", 1)
    middle, after = rest.split("%(m)d", 1)
    return before.strip(), middle.strip(), after.strip()


#: The one date style of tables, cards and messages (GLOSSARY.md); headings and PDF mastheads
#: ask for "medium" (2026年11月29日 / Nov 29, 2026) explicitly.
DATE_FORMAT = "yyyy-MM-dd"
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"


def local_dt(value: datetime | None, tz: str | None = None, fmt: str = DATETIME_FORMAT) -> str:
    """A naive-UTC datetime shown in the given zone (a store's) for the current locale."""
    if value is None:
        return "–"
    aware = value.replace(tzinfo=ZoneInfo("UTC"))
    if tz:
        aware = aware.astimezone(ZoneInfo(tz))
        return format_datetime(aware.replace(tzinfo=None), fmt, rebase=False)
    return format_datetime(aware.replace(tzinfo=None), fmt)


def daypart(value: time) -> str:
    """The daypart of a time of day, with its span: "lunch, 10:30–14:00"."""
    minute = value.hour * 60 + value.minute
    start, end, name = next(p for p in DAYPARTS if p[0] <= minute < p[1])
    return gettext("%(daypart)s, %(start)s–%(end)s", daypart=name,
                   start=f"{start // 60:02d}:{start % 60:02d}",
                   end=f"{end // 60:02d}:{end % 60:02d}")


def store_visit_time(visit) -> str:
    """When the visit took place, as its store's managers may see it: the daypart of the
    arrival (the exact minute only when HQ allows exact times), "" without a time."""
    from .settings import get_setting

    if visit.arrival_time is None:
        return ""
    if get_setting("privacy")["exact_times"]:
        return visit.arrival_time.strftime("%H:%M")
    return daypart(visit.arrival_time)


def local_date(value: date | None, fmt: str = DATE_FORMAT) -> str:
    return "–" if value is None else format_date(value, fmt)


class CatalogueDomain(Domain):
    """The message domain, finding ``translations/zh_CN`` for the ``zh_Hans_CN`` locale.

    Babel parses ``zh_CN`` as ``zh_Hans_CN`` (likely subtags) and gettext then looks only in
    ``zh_Hans_CN`` and ``zh``; this also tries ``<language>_<territory>``.
    """

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        key = (str(locale), self.domain[0])
        if key not in self.cache:
            names = [str(locale)]
            if locale.territory:
                names.append(f"{locale.language}_{locale.territory}")
            translations = support.Translations()
            for dirname in self.translation_directories:
                catalog = support.Translations.load(dirname, names, self.domain[0])
                translations.merge(catalog)
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            self.cache[key] = translations
        return self.cache[key]


def cli_locale() -> str:
    """The command line's language, from LANGUAGE / LC_ALL / LC_MESSAGES / LANG:
    Simplified Chinese for ``zh*``, else English."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


def cli_localised(command: Callable) -> Callable:
    """Run a CLI command (inside its app context) in the terminal's language."""

    @wraps(command)
    def wrapped(*args, **kwargs):
        with force_locale(cli_locale()):
            return command(*args, **kwargs)

    return wrapped


def loc(obj: object, field: str) -> str:
    """``obj.<field>_zh`` when the page is in Chinese and that text is not empty, else
    ``obj.<field>`` (questionnaire names, dimension names, item texts, guidance)."""
    if obj is None:
        return ""
    if is_chinese():
        value = getattr(obj, f"{field}_zh", None)
        if value:
            return value
    return getattr(obj, field, None) or ""


def _item_type_label(code: str) -> str:
    from .item_types import label as type_label  # the registry imports this module

    return type_label(code)


def init_template_helpers(app: Flask) -> None:
    from .extensions import babel

    # Assigning over Flask-Babel's cached property: every gettext goes through this domain.
    babel.domain_instance = CatalogueDomain(domain="messages")

    @app.context_processor
    def inject() -> dict:
        return {
            "LOCALES": LOCALES,
            "current_locale": str(get_locale() or "en"),
            "is_chinese": is_chinese,
            "fmt_score": scoring.fmt_score,
            "DIMENSIONS": scoring.DIMENSIONS,
            "dimension_label": lambda c: label(DIMENSION_LABELS, c),
            "visit_type_label": lambda c: label(VISIT_TYPE_LABELS, c),
            "visit_kind_label": lambda c: label(VISIT_KIND_LABELS, c),
            "status_label": lambda c: label(STATUS_LABELS, c),
            "action_status_label": lambda c: label(ACTION_STATUS_LABELS, c),
            "dispute_status_label": lambda c: label(DISPUTE_STATUS_LABELS, c),
            "dispute_outcome_label": lambda c: label(DISPUTE_OUTCOME_LABELS, c),
            "band_label": lambda c: label(BAND_LABELS, c),
            "role_label": lambda c: label(ROLE_LABELS, c),
            "severity_label": lambda c: label(SEVERITY_LABELS, c),
            "item_type_label": _item_type_label,
            "paradata_label": lambda c: label(PARADATA_LABELS, c),
            "audit_entity_label": lambda c: label(AUDIT_ENTITY_LABELS, c),
            "audit_action_label": lambda c: label(AUDIT_ACTION_LABELS, c),
            "paren": paren,
            "page_footer_parts": page_footer_parts,
            "csm_label": csm_label,
            "fmt_interval": fmt_interval,
            "interval_text": interval_text,
            "figure_text": figure_text,
            "band_range_label": band_range_label,
            "band_status": band_status,
            "band_text": band_text,
            "change_text": change_text,
            "local_dt": local_dt,
            "local_date": local_date,
            "store_visit_time": store_visit_time,
            "loc": loc,
            "brand_name": app.config.get("BRAND_NAME", "auditapp"),
        }
