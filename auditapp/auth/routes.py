"""Logging in and out, and choosing the language."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import accounts
from ..extensions import db, limiter
from ..i18n import LOCALES
from ..models import User
from . import bp
from .forms import (
    EmailForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    ResetPasswordForm,
)
from .urls import safe_next

_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limits (a successful login redirects).
    return response.status_code != 302


def _typed_account() -> str:
    """The throttling key of the account a login attempt names (whether it exists or not)."""
    return "account:" + (request.form.get("username") or "").strip().lower()[:120]


def _password_matches(user: User | None, password: str) -> bool:
    """Check ``password`` with one password hash whatever the account: unknown, deactivated,
    without a password or real. Answering some faster would tell which accounts exist."""
    matches = check_password_hash((user and user.password_hash) or _DUMMY_HASH, password)
    return matches and user is not None and bool(user.password_hash) and user.active


@bp.route("/login", methods=["GET", "POST"])
# Failed attempts are limited per address (one machine trying many accounts) and per account
# (many machines guessing one password), so that one address (an office behind one NAT)
# cannot lock out everybody else's accounts. See LOGIN_LIMIT_PER_* in config.py.
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_typed_account, deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data.strip()
        user = db.session.scalar(select(User).where(func.lower(User.username) == name.lower()))
        if not _password_matches(user, form.password.data):
            flash(_("That email/code and password do not match an active account."), "error")
            return render_template("auth/login.html", form=form), 200
        session.clear()  # a fresh session on login (no fixation)
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # ends this session and any copy of its cookies (and the user's other sessions)
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    response = redirect(url_for("auth.login"))
    # the browser's HTTP cache (photos) goes too; the offline forms are the service worker's
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code not in LOCALES:
        flash(_("That language is not available."), "error")
    else:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """My account: the language of the interface (else the browser's)."""
    form = LanguageForm(data={"locale": current_user.locale or ""})
    if form.validate_on_submit():
        code = form.locale.data or None
        current_user.locale = code
        if code:
            session["lang"] = code
        else:
            session.pop("lang", None)
        db.session.commit()
        # the next page is in the new language; say so in it
        return redirect(url_for("auth.account", saved=1))
    return _account_page(form=form, saved=request.args.get("saved") == "1")


def _account_page(status: int = 200, **forms):
    """My account: language, e-mail address and password, each its own form."""
    forms.setdefault("form", LanguageForm(data={"locale": current_user.locale or ""}))
    forms.setdefault("email_form", EmailForm(data={"email": current_user.email or ""}))
    forms.setdefault("password_form", PasswordChangeForm())
    forms.setdefault("saved", False)
    return render_template("auth/account.html", **forms), status


def _current_user_key() -> str:
    return f"account-password:{getattr(current_user, 'id', '')}"


@bp.route("/account/email", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_current_user_key,
               deduct_when=_login_failed)
def change_email():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            accounts.change_email(current_user, form.password.data, form.email.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Email address saved."), "success")
            return redirect(url_for("auth.account"), code=303)
    db.session.rollback()
    return _account_page(400, email_form=form)


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_current_user_key,
               deduct_when=_login_failed)
def change_password():
    """My account: a new password, the current one required; other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data,
                                     form.new_password.data, form.confirm.data)
        except accounts.AccountError as error:
            getattr(form, error.field or "new_password").errors.append(str(error))
        else:
            user = current_user._get_current_object()
            db.session.commit()
            login_user(user)  # this session goes on with the new session version
            flash(_("Password changed. Your other sessions have ended."), "success")
            return redirect(url_for("auth.account"), code=303)
    db.session.rollback()
    return _account_page(400, password_form=form)


def _typed_identifier() -> str:
    return "reset:" + (request.form.get("username") or "").strip().lower()[:200]


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_typed_identifier)
def forgot_password():
    """Ask for a reset link. The answer is the same whether the account exists or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_reset(form.username.data)
        db.session.commit()
        return render_template("auth/forgot.html", form=None, sent=True,
                               minutes=accounts.max_age() // 60)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form, sent=False), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = accounts.user_for_token(token)
    if user is None:
        return render_template("auth/reset.html", form=None), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.new_password.data, form.confirm.data)
        except accounts.AccountError as error:
            getattr(form, error.field or "new_password").errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Your password is set. Log in with it now."), "success")
            return redirect(url_for("auth.login"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/reset.html", form=form), status
