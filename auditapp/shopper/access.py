"""Who may open a visit's form: its evaluator (logged in) or whoever holds its link token."""

from __future__ import annotations

import hmac

from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import visit_states
from ..extensions import db
from ..models import Visit, utcnow
from ..visits import TOKEN_LIFETIME


def visit_by_token(token: str | None, *, lock: bool = False) -> Visit | None:
    """The visit whose unexpired link token is ``token``, else None. ``lock``: read it as
    ``visit_states.lock`` does (row locked until the commit, fresh values)."""
    if not token or len(token) > 64 or "\x00" in token:  # (PostgreSQL refuses a NUL)
        return None
    query = select(Visit).where(Visit.access_token == token) \
        .options(joinedload(Visit.evaluator))
    if lock:
        query = visit_states.locking(query)
    visit = db.session.scalar(query)
    if visit is None or visit.access_token is None:
        return None
    if not hmac.compare_digest(visit.access_token, token):
        return None
    # A link without its own expiry (a visit made by hand) lasts as long as a scheduled
    # one: TOKEN_LIFETIME from the visit's creation.
    expires = visit.token_expires_at or (
        visit.created_at + TOKEN_LIFETIME if visit.created_at is not None else None)
    if expires is not None and expires < utcnow():
        return None
    if visit.evaluator is not None and not visit.evaluator.active:
        return None
    return visit


def request_token() -> str | None:
    """The link token sent with an API request: ``Authorization: Bearer <token>`` or
    ``?token=<token>``."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.args.get("token") or None


def is_evaluator(visit: Visit) -> bool:
    return bool(
        current_user.is_authenticated
        and visit.evaluator_id is not None
        and visit.evaluator_id == current_user.id
    )


def acting_user_id(visit: Visit) -> int | None:
    """Whom the audit trail names: the logged-in user, else the visit's evaluator."""
    if current_user.is_authenticated:
        return current_user.id
    return visit.evaluator_id
