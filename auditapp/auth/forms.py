from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from ..i18n import LOCALES


class LoginForm(FlaskForm):
    username = StringField(
        _l("Email or shopper code"),
        validators=[DataRequired(_l("Enter your email or shopper code.")), Length(max=120)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in on this device"))
    submit = SubmitField(_l("Log in"))


class LanguageForm(FlaskForm):
    """The language of one's own account; empty follows the browser."""

    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Browser default")),
                 *(SelectChoice(code, name) for code, name in LOCALES.items())],
        default="",
    )
    submit = SubmitField(_l("Save"))


class _NewPasswordForm(FlaskForm):
    """A new password, typed twice (changing one's password, or a reset link)."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password.")),
                    Length(min=8, max=200, message=_l("At least 8 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(_l("Enter the new password again.")), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(_NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(FlaskForm):
    username = StringField(
        _l("Email or shopper code"),
        validators=[DataRequired(_l("Enter your email or shopper code.")), Length(max=200)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(_NewPasswordForm):
    submit = SubmitField(_l("Set password"))


class EmailForm(FlaskForm):
    """One's own e-mail address (where notifications and reset links go)."""

    email = StringField(
        _l("Email"),
        validators=[Optional(), Email(_l("Enter a valid email address.")), Length(max=200)],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Save email"))
