from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

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
