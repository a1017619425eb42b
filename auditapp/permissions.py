"""Who may do what: capabilities, the roles that hold them, and what each person may see.

Code asks "may this user X?" (``has(user, Cap.X)``, ``@requires(Cap.X)``), never "is this
user role R?". A role is a named set of capabilities with a landing page and its menu,
all in ``ROLES_BY_CODE`` below. Adding a role means: a code in ``models/user.py``, its
label in ``i18n.ROLE_LABELS``, and one ``Role`` entry here (plus, when it is bound to
something new, that binding on ``User``).

What a person may *see* is decided once, in SQL: ``visible_stores(user)`` and
``visible_visits(user)``. Every manager page, export, PDF and API that scopes by user
starts from these selects (add ``.where(...)`` for the rest); ``can_see_visit`` and
``can_see_store`` check one object against the same selects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any

from flask import Flask, abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from .extensions import db, login_manager
from .models import (
    AREA_MANAGER,
    HQ_ADMIN,
    MANAGER,
    QA_AUDITOR,
    SHOPPER,
    Store,
    Visit,
    area_manager_regions,
    store_managers,
)
from .models.visit import COUNTED_STATUSES


class Cap(StrEnum):
    """Named capabilities. The first group says which stores (and so which visits) one
    sees; the others open pages and actions."""

    # --- what one sees
    SEE_ALL_STORES = "see_all_stores"  # every store and every visit, in any status
    SEE_OWN_STORES = "see_own_stores"  # the released visits of the stores one runs
    SEE_REGION_STORES = "see_region_stores"  # the released visits of one's regions' stores
    # --- store side: results and follow-up (never the shopper's identity)
    VIEW_STORE_RESULTS = "view_store_results"  # store figures, audits, PDFs, exports
    VIEW_REGION_SUMMARY = "view_region_summary"  # one table of one's regions' stores
    FOLLOW_UP = "follow_up"  # corrective actions and disputes on released visits
    ACKNOWLEDGE_VISITS = "acknowledge_visits"  # "I have read this audit" (for HQ to see)
    # --- field work
    SHOP_VISITS = "shop_visits"  # a mystery shopper's assignments and forms
    QA_AUDIT = "qa_audit"  # QA audits
    # --- head office
    VIEW_CHAIN = "view_chain"  # dashboard, region / store detail, competitor benchmark
    REVIEW_VISITS = "review_visits"  # the review queue: release, return, void
    DECIDE_FOLLOW_UP = "decide_follow_up"  # decide disputes, verify corrective actions
    MANAGE_COMPLAINTS = "manage_complaints"
    CHAIN_REPORTS = "chain_reports"  # every store's PDFs and exports
    MANAGE_MASTERDATA = "manage_masterdata"  # regions, stores, competitors, people
    MANAGE_QUESTIONNAIRES = "manage_questionnaires"
    SCHEDULE_VISITS = "schedule_visits"
    MANAGE_SETTINGS = "manage_settings"
    CLOSE_MONTHS = "close_months"  # close a month: its figures become final (SCORING.md §11)
    VIEW_AUDIT_TRAIL = "view_audit_trail"
    FIGURES_API = "figures_api"  # the BI API and one's personal API token
    # --- everyone
    READ_NOTIFICATIONS = "read_notifications"  # one's own inbox (and its unread count)


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: Any  # a lazy string
    cap: Cap


@dataclass(frozen=True)
class Role:
    code: str
    caps: frozenset[Cap]
    #: Where "/" sends this role.
    landing: str
    #: The main menu, in order (a link shows only when its capability is held).
    nav: tuple[NavLink, ...]


_STORE_SIDE = frozenset({Cap.VIEW_STORE_RESULTS, Cap.FOLLOW_UP, Cap.READ_NOTIFICATIONS})
_HQ = frozenset({
    Cap.SEE_ALL_STORES, Cap.QA_AUDIT, Cap.VIEW_CHAIN, Cap.REVIEW_VISITS,
    Cap.DECIDE_FOLLOW_UP, Cap.MANAGE_COMPLAINTS, Cap.CHAIN_REPORTS, Cap.MANAGE_MASTERDATA,
    Cap.MANAGE_QUESTIONNAIRES, Cap.SCHEDULE_VISITS, Cap.MANAGE_SETTINGS,
    Cap.VIEW_AUDIT_TRAIL, Cap.FIGURES_API, Cap.CLOSE_MONTHS, Cap.READ_NOTIFICATIONS,
})

_STORE_NAV = (
    NavLink("manager.index", _l("My stores"), Cap.VIEW_STORE_RESULTS),
    NavLink("manager.actions", _l("Actions"), Cap.FOLLOW_UP),
    NavLink("manager.reports", _l("Reports"), Cap.VIEW_STORE_RESULTS),
)

ROLES_BY_CODE: dict[str, Role] = {
    HQ_ADMIN: Role(HQ_ADMIN, _HQ, "hq.index", (
        NavLink("hq.index", _l("Dashboard"), Cap.VIEW_CHAIN),
        NavLink("hq.review_queue", _l("Review queue"), Cap.REVIEW_VISITS),
        NavLink("hq.reports", _l("Reports"), Cap.CHAIN_REPORTS),
        NavLink("hq.complaints", _l("Complaints"), Cap.MANAGE_COMPLAINTS),
        NavLink("hq.disputes", _l("Disputes"), Cap.DECIDE_FOLLOW_UP),
        NavLink("hq.actions", _l("Actions"), Cap.DECIDE_FOLLOW_UP),
        NavLink("hq.competitors", _l("Competitors"), Cap.VIEW_CHAIN),
        NavLink("hq.insights_page", _l("Insights"), Cap.VIEW_CHAIN),
        NavLink("hq.stores", _l("Stores"), Cap.MANAGE_MASTERDATA),
        NavLink("hq.users", _l("People"), Cap.MANAGE_MASTERDATA),
        NavLink("hq.shoppers_list", _l("Shoppers"), Cap.MANAGE_MASTERDATA),
        NavLink("hq.questionnaires", _l("Questionnaires"), Cap.MANAGE_QUESTIONNAIRES),
        NavLink("hq.scenarios_page", _l("Scenarios"), Cap.MANAGE_QUESTIONNAIRES),
        NavLink("hq.scheduling", _l("Scheduling"), Cap.SCHEDULE_VISITS),
        NavLink("hq.settings", _l("Settings"), Cap.MANAGE_SETTINGS),
        NavLink("hq.months", _l("Months"), Cap.CLOSE_MONTHS),
        NavLink("hq.audit_log", _l("Audit trail"), Cap.VIEW_AUDIT_TRAIL),
    )),
    QA_AUDITOR: Role(
        QA_AUDITOR, frozenset({Cap.SEE_ALL_STORES, Cap.QA_AUDIT, Cap.READ_NOTIFICATIONS}),
        "hq.qa_index",
        (NavLink("hq.qa_index", _l("QA audits"), Cap.QA_AUDIT),),
    ),
    AREA_MANAGER: Role(
        AREA_MANAGER, _STORE_SIDE | {Cap.SEE_REGION_STORES, Cap.VIEW_REGION_SUMMARY},
        "manager.regions",
        (NavLink("manager.regions", _l("My regions"), Cap.VIEW_REGION_SUMMARY),
         NavLink("manager.insights_page", _l("Insights"), Cap.VIEW_REGION_SUMMARY),
         *_STORE_NAV),
    ),
    MANAGER: Role(
        MANAGER, _STORE_SIDE | {Cap.SEE_OWN_STORES, Cap.ACKNOWLEDGE_VISITS},
        "manager.index", _STORE_NAV,
    ),
    SHOPPER: Role(
        SHOPPER, frozenset({Cap.SHOP_VISITS, Cap.READ_NOTIFICATIONS}), "shopper.index",
        (NavLink("shopper.index", _l("My assignments"), Cap.SHOP_VISITS),
         NavLink("shopper.history", _l("My reports and pay"), Cap.SHOP_VISITS),
         NavLink("shopper.profile", _l("My profile"), Cap.SHOP_VISITS)),
    ),
}

#: Where a signed-in person whose role is unknown (none of the above) lands: their account.
FALLBACK_LANDING = "auth.account"


# --- asking ------------------------------------------------------------------------------


def role_of(user) -> Role | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return ROLES_BY_CODE.get(getattr(user, "role", None))


def capabilities(user) -> frozenset[Cap]:
    """What ``user`` may do (nothing for anonymous, inactive or unknown-role users)."""
    role = role_of(user)
    if role is None or not getattr(user, "active", True):
        return frozenset()
    return role.caps


def has(user, cap: Cap) -> bool:
    return cap in capabilities(user)


def landing(user) -> str:
    """The endpoint "/" sends ``user`` to."""
    role = role_of(user)
    return role.landing if role is not None else FALLBACK_LANDING


def nav_links(user) -> list[NavLink]:
    role = role_of(user)
    if role is None:
        return []
    caps = capabilities(user)
    return [link for link in role.nav if link.cap in caps]


def requires(cap: Cap) -> Callable:
    """Allow only logged-in, active users holding ``cap``; 403 for the others."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has(current_user, cap):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# --- seeing ------------------------------------------------------------------------------


def _store_scope(user) -> ColumnElement[bool]:
    caps = capabilities(user)
    if Cap.SEE_ALL_STORES in caps:
        return true()
    terms: list[ColumnElement[bool]] = []
    if Cap.SEE_OWN_STORES in caps:
        terms.append(Store.id.in_(
            select(store_managers.c.store_id).where(store_managers.c.user_id == user.id)))
    if Cap.SEE_REGION_STORES in caps:
        terms.append(Store.region_id.in_(
            select(area_manager_regions.c.region_id)
            .where(area_manager_regions.c.user_id == user.id)))
    return or_(*terms) if terms else false()


def visible_stores(user) -> Select:
    """The stores ``user`` may see (active or not), by code."""
    return select(Store).where(_store_scope(user)).order_by(Store.code)


def visible_store_ids(user) -> Select:
    """``visible_stores`` as a select of ids, for ``Visit.store_id.in_(...)``."""
    return select(Store.id).where(_store_scope(user))


def _visit_scope(user) -> ColumnElement[bool]:
    caps = capabilities(user)
    if Cap.SEE_ALL_STORES in caps:
        return true()
    terms: list[ColumnElement[bool]] = []
    if caps & {Cap.SEE_OWN_STORES, Cap.SEE_REGION_STORES}:
        terms.append(and_(Visit.status.in_(COUNTED_STATUSES),
                          Visit.store_id.in_(visible_store_ids(user))))
    if Cap.SHOP_VISITS in caps:
        terms.append(Visit.evaluator_id == user.id)
    return or_(*terms) if terms else false()


def visible_visits(user) -> Select:
    """The visits ``user`` may see: HQ and QA all; store and area managers the released
    (or disputed) visits of their stores; a shopper their own."""
    return select(Visit).where(_visit_scope(user))


def can_see_store(user, store_id: int | None) -> bool:
    if store_id is None:
        return False
    return db.session.scalar(visible_store_ids(user).where(Store.id == store_id)) is not None


def can_see_visit(user, visit: Visit | None) -> bool:
    if visit is None or visit.id is None:
        return False
    found = db.session.scalar(select(Visit.id).where(Visit.id == visit.id, _visit_scope(user)))
    return found is not None


def can_follow_up(user, visit: Visit) -> bool:
    """May ``user`` add corrective actions to / dispute items of ``visit``?"""
    return (has(user, Cap.FOLLOW_UP) and visit.status in COUNTED_STATUSES
            and can_see_visit(user, visit))


def can_acknowledge(user, visit: Visit) -> bool:
    return (has(user, Cap.ACKNOWLEDGE_VISITS) and visit.status in COUNTED_STATUSES
            and can_see_visit(user, visit))


# --- templates ---------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    @app.context_processor
    def permission_helpers() -> dict:
        return {
            "Cap": Cap,
            "can": lambda cap: has(current_user, cap),
            "nav_links": lambda: nav_links(current_user),
        }
