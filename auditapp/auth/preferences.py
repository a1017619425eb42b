"""My account: which optional notifications a user gets, by e-mail and in the inbox
(``notifications.preferences``). Mandatory ones (assignment issued, password reset, …)
are not offered: they cannot be turned off."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SubmitField

from .. import notifications
from ..extensions import db
from . import bp


class PreferencesForm(FlaskForm):
    """The checkboxes are written by hand (one pair per event); this carries the CSRF."""

    submit = SubmitField(_l("Save notification choices"))


@bp.app_template_global()
def notification_choices() -> dict:
    """What the account page's notification section shows for the current user."""
    return {"rows": notifications.preferences(current_user), "form": PreferencesForm()}


@bp.post("/account/notifications")
@login_required
def notification_preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("auth.account", _anchor="notification-prefs"), code=303)
    choices = {code: (request.form.get(f"email-{code}") == "1",
                      request.form.get(f"inbox-{code}") == "1")
               for code in notifications.OPTIONAL_BY_ROLE.get(current_user.role, ())}
    notifications.save_preferences(current_user, choices)
    db.session.commit()
    flash(_("Notification choices saved."), "success")
    return redirect(url_for("auth.account", _anchor="notification-prefs"), code=303)
