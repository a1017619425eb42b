"""Self-service accounts: changing one's password, and resetting a forgotten one by e-mail.

A reset link carries a token signed with the app's secret (itsdangerous), valid for
``PASSWORD_RESET_MAX_AGE`` seconds and for one use: it names the account and a digest of
its current password hash and session version, so it stops working as soon as the
password changes (by this link or otherwise) or the user's sessions are ended. Asking for
a link answers the same whether or not the account exists.
"""

from __future__ import annotations

import hashlib

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from . import notifications
from .audit import log_change
from .extensions import db
from .models import User

MIN_PASSWORD_LENGTH = 8
_SALT = "auditapp-password-reset"


class AccountError(ValueError):
    """A change refused, with a message for the user and the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    material = f"{user.password_hash}:{user.session_version}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def max_age() -> int:
    return int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))


def reset_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token: str) -> User | None:
    """The active user a reset token is for, if it is genuine, fresh and unused."""
    try:
        data = _serializer().loads(token, max_age=max_age())
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def request_reset(identifier: str) -> None:
    """E-mail a reset link to the active account whose login name or e-mail address is
    ``identifier`` (if there is one with an address; nothing otherwise, silently)."""
    name = (identifier or "").strip().lower()
    if not name:
        return
    user = db.session.scalar(select(User).where(
        or_(func.lower(User.username) == name, func.lower(User.email) == name),
        User.active.is_(True)).order_by(User.id).limit(1))
    if user is None or not user.email:
        return
    link = url_for("auth.reset_password", token=reset_token(user))
    notifications.send_email(user, notifications.PASSWORD_RESET,
                             {"username": user.username, "minutes": max_age() // 60}, link)
    log_change("user", user.id, "password_reset_requested", None, None, None)


def _check_new(new: str, confirm: str) -> None:
    if len(new or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("At least 8 characters."), "new_password")
    if new != confirm:
        raise AccountError(_("The two new passwords differ."), "confirm")


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Change ``user``'s password; the current one is required. Ends their other sessions."""
    if not user.check_password(current or ""):
        raise AccountError(_("That is not your current password."), "current_password")
    _check_new(new, confirm)
    user.set_password(new)
    log_change("user", user.id, "password_changed", user.id, None, None)


def change_email(user: User, password: str, email: str | None) -> None:
    """Set (or clear) ``user``'s own e-mail address; the current password is required."""
    if not user.check_password(password or ""):
        raise AccountError(_("That is not your current password."), "password")
    before = {"email": user.email}
    user.email = (email or "").strip() or None
    log_change("user", user.id, "email_changed", user.id, before, {"email": user.email})


def reset_password(user: User, new: str, confirm: str) -> None:
    """Set the password chosen through a reset link (the link is then spent)."""
    _check_new(new, confirm)
    user.set_password(new)
    log_change("user", user.id, "password_reset", user.id, None, None)
