"""Logging in and out, and choosing the language."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, limiter
from ..i18n import LOCALES
from ..models import User
from . import bp
from .forms import LanguageForm, LoginForm
from .urls import safe_next

_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limit (a successful login redirects).
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data.strip()
        user = db.session.scalar(select(User).where(func.lower(User.username) == name.lower()))
        if user is None:
            # Spend the same time as a real check, so timing does not reveal accounts.
            check_password_hash(_DUMMY_HASH, form.password.data)
        if user is None or not user.active or not user.check_password(form.password.data):
            flash(_("That e-mail/code and password do not match an active account."), "error")
            return render_template("auth/login.html", form=form), 200
        session.clear()  # a fresh session on login (no fixation)
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


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
    return render_template("auth/account.html", form=form,
                           saved=request.args.get("saved") == "1")
