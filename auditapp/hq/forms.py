"""Forms of the HQ administration pages: master data, questionnaires, settings, scheduling."""

from __future__ import annotations

import math
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from .. import analytics, conditions, item_types, scoring
from ..i18n import LOCALES, ROLE_LABELS, VISIT_KIND_LABELS, VISIT_TYPE_LABELS
from ..models import AREA_MANAGER, MANAGER
from ..stores import valid_timezone


def _timezone(form, field) -> None:
    if field.data and not valid_timezone(field.data.strip()):
        raise ValidationError(_l("Unknown time zone; use an IANA name such as Asia/Shanghai."))


def _text(value) -> str:
    return "" if value is None else str(value)


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


#: Upper bounds of the numbers HQ types in (a weight of 1e308 or inf would break every
#: figure computed from it): weights of dimensions, items and BDI components; a timed
#: item's target and limit in seconds.
MAX_WEIGHT, MAX_SECONDS = 1000, 24 * 3600


def _between(low: float, high: float, message) -> Callable:
    """A finite number from ``low`` to ``high``: refuses ``inf``, ``nan`` and absurd sizes
    (``1e308``) that would break every figure computed from them."""

    def check(form: FlaskForm, field: FloatField) -> None:
        if field.data is not None and not (
            math.isfinite(field.data) and low <= field.data <= high
        ):
            raise ValidationError(message)

    return check

CODE = [
    DataRequired(_l("Enter a code.")),
    Length(max=32),
    Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, '-', '_' or '.' only.")),
]


class RegionForm(FlaskForm):
    code = StringField(_l("Code"), validators=CODE)
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    brand_id = SelectField(_l("Brand"), coerce=int)
    submit = SubmitField(_l("Save"))


# Fields a store and a competitor store share; made by functions so each form keeps its
# own field order (WTForms orders fields by when they were created).
def _timezone_field() -> StringField:
    return StringField(
        _l("Time zone"), default="Asia/Shanghai",
        validators=[DataRequired(_l("Enter a time zone.")), _timezone],
    )


def _latitude_field() -> FloatField:
    return FloatField(
        _l("Latitude"),
        validators=[Optional(), _between(-90, 90, _l("Latitude must be between -90 and 90."))],
    )


def _longitude_field() -> FloatField:
    return FloatField(
        _l("Longitude"),
        validators=[Optional(),
                    _between(-180, 180, _l("Longitude must be between -180 and 180."))],
    )


class StoreForm(FlaskForm):
    code = StringField(_l("Code"), validators=CODE)
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    region_id = SelectField(_l("Region"), coerce=int)
    timezone = _timezone_field()
    has_drive_thru = BooleanField(_l("Has a drive-thru"))
    latitude = _latitude_field()
    longitude = _longitude_field()
    #: Opening hours, local time (checked by the integrity flag ``outside_hours``).
    opens_at = TimeField(_l("Opens at"), validators=[Optional()])
    closes_at = TimeField(_l("Closes at"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def validate_opens_at(self, field) -> None:
        """(An empty field skips its own check: each time checks the other.)"""
        if (self.opens_at.data is None) != (self.closes_at.data is None):
            raise ValidationError(_l("Give both the opening and the closing time, or "
                                     "neither."))

    validate_closes_at = validate_opens_at


class CompetitorForm(FlaskForm):
    competitor = StringField(
        _l("Competitor (chain)"), validators=[DataRequired(_l("Enter the chain.")), Length(max=120)]
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    region_id = SelectField(_l("Region"), coerce=int)
    timezone = _timezone_field()
    has_drive_thru = BooleanField(_l("Has a drive-thru"))
    latitude = _latitude_field()
    longitude = _longitude_field()
    submit = SubmitField(_l("Save"))


class StoreImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Choose a CSV file.")),
                    FileAllowed(["csv", "txt"], _l("Upload a .csv file."))],
    )
    submit = SubmitField(_l("Import"))


class UserForm(FlaskForm):
    username = StringField(
        _l("Username (email for staff, pseudonym code for shoppers)"),
        validators=[DataRequired(_l("Enter a username.")), Length(max=120)],
        render_kw={"autocapitalize": "none"},
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    email = StringField(_l("Email"), validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=200)])
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS.items()))
    password = PasswordField(
        _l("Password (leave empty to keep the current one)"),
        validators=[Optional(), Length(min=8, max=200, message=_l("At least 8 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    locale = SelectField(_l("Language"), coerce=_text, default="",
                         choices=_choices([("", _l("Browser default")), *LOCALES.items()]))
    stores = SelectMultipleField(_l("Stores managed (managers)"), coerce=int)
    tied_stores = SelectMultipleField(
        _l("Stores the shopper must never visit (conflict of interest)"), coerce=int)
    regions = SelectMultipleField(_l("Regions looked after (area managers)"), coerce=int)
    submit = SubmitField(_l("Save"))

    def validate_stores(self, field) -> None:
        if self.role.data == MANAGER and not field.data:
            raise ValidationError(_l("A store manager runs at least one store."))

    def validate_regions(self, field) -> None:
        if self.role.data == AREA_MANAGER and not field.data:
            raise ValidationError(_l("An area manager looks after at least one region."))


class DimensionForm(FlaskForm):
    name = StringField(_l("Name (English)"),
                       validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[Optional(), Length(max=120)])
    weight = FloatField(
        _l("Weight"),
        validators=[InputRequired(_l("Enter a weight.")), _between(
            0.0001, MAX_WEIGHT, _l("The weight must be above 0 and at most %(most)s.",
                                   most=MAX_WEIGHT))],
    )
    show_visit_types = SelectMultipleField(
        _l("Ask this dimension only for these visit types (none selected: all)"),
        choices=_choices(VISIT_TYPE_LABELS.items()), validators=[Optional()])
    show_kinds = SelectMultipleField(
        _l("Ask this dimension only in these visits (none selected: all)"),
        choices=_choices(VISIT_KIND_LABELS.items()), validators=[Optional()])
    submit = SubmitField(_l("Save dimension"))

    def condition(self) -> dict | None:
        out: dict = {}
        if self.show_visit_types.data:
            out["visit_types"] = list(self.show_visit_types.data)
        if self.show_kinds.data:
            out["kinds"] = list(self.show_kinds.data)
        return out or None


WHEN_TESTS = (
    ("failed", _l("failed (No, below neutral, past the limit, outside the range, 0 points)")),
    ("passed", _l("not failed")),
    ("eq", _l("equals")),
    ("lt", _l("below")),
    ("gt", _l("above")),
    ("outside", _l("outside")),
)


class ItemForm(FlaskForm):
    dimension_id = SelectField(_l("Dimension"), coerce=int)
    code = StringField(_l("Code"), validators=[*CODE[:1], Length(max=40), *CODE[2:]])
    item_type = SelectField(_l("Type"), choices=_choices(item_types.choices()))
    weight = FloatField(
        _l("Weight"), default=1.0,
        validators=[InputRequired(_l("Enter a weight.")), _between(
            0.0001, MAX_WEIGHT, _l("The weight must be above 0 and at most %(most)s.",
                                   most=MAX_WEIGHT))],
    )
    critical = BooleanField(_l("Critical (a failure zeroes the dimension)"))
    allow_na = BooleanField(_l("N/A allowed"))
    text = TextAreaField(_l("Question (English)"), validators=[DataRequired(_l("Enter the text."))])
    text_zh = TextAreaField(_l("Question (Chinese)"), validators=[Optional()])
    guidance = TextAreaField(_l("Guidance (English)"), validators=[Optional()])
    guidance_zh = TextAreaField(_l("Guidance (Chinese)"), validators=[Optional()])
    # the type's settings (item_types.ItemType.config_from_form)
    options = TextAreaField(_l("Choice options: one a line, “points | English | Chinese”"),
                            validators=[Optional(), Length(max=4000)])
    range_lo = FloatField(_l("Number: lowest acceptable value"), validators=[Optional()])
    range_hi = FloatField(_l("Number: highest acceptable value"), validators=[Optional()])
    unit = StringField(_l("Number: unit (e.g. °C)"), validators=[Optional(), Length(max=20)])
    # when the item is asked (auditapp/conditions.py)
    show_visit_types = SelectMultipleField(
        _l("Ask only for these visit types (none selected: all)"),
        choices=_choices(VISIT_TYPE_LABELS.items()), validators=[Optional()])
    show_kinds = SelectMultipleField(
        _l("Ask only in these visits (none selected: all)"),
        choices=_choices(VISIT_KIND_LABELS.items()), validators=[Optional()])
    when_item = SelectField(_l("Ask only when this earlier item's answer…"), choices=[],
                            validators=[Optional()])
    when_test = SelectField(_l("…is"), choices=_choices(WHEN_TESTS), validators=[Optional()])
    when_value = StringField(_l("Value (equals: 0 or 0, 1; outside: 2..8)"),
                             validators=[Optional(), Length(max=60)])
    # follow-ups on a failed answer (SCORING.md §8)
    require_comment = BooleanField(_l("A failed answer needs a comment saying why"))
    require_photo = BooleanField(_l("A failed answer needs a photo"))
    submit = SubmitField(_l("Save item"))

    def condition(self) -> dict | None:
        """The condition the fields describe (None: always asked); call after validate."""
        out: dict = {}
        if self.show_visit_types.data:
            out["visit_types"] = list(self.show_visit_types.data)
        if self.show_kinds.data:
            out["kinds"] = list(self.show_kinds.data)
        if self.when_item.data:
            out["when"] = {"item": self.when_item.data,
                           **conditions.parse_when(self.when_test.data or "failed",
                                                   self.when_value.data or "")}
        return out or None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.when_item.data:
            try:
                conditions.parse_when(self.when_test.data or "failed", self.when_value.data or "")
            except ValueError:
                self.when_value.errors.append(_l("Enter a value that fits the test (equals: "
                                                 "0 or 0, 1; below/above: a number; outside: "
                                                 "2..8)."))
                ok = False
        if self.item_type.data == scoring.NUMBER:
            if self.range_lo.data is None or self.range_hi.data is None:
                self.range_hi.errors.append(_l("Enter the acceptable range (low and high)."))
                ok = False
            elif self.range_hi.data < self.range_lo.data:
                self.range_hi.errors.append(_l("The high bound must be at least the low "
                                               "bound."))
                ok = False
        if self.item_type.data != scoring.TIMED:
            return ok
        for vtype in scoring.VISIT_TYPES:
            t_field, l_field = self[f"t_{vtype}"], self[f"l_{vtype}"]
            t, lim = t_field.data, l_field.data
            if t is None:
                t_field.errors.append(_l("Enter the target T in seconds."))
                ok = False
            elif not (math.isfinite(t) and 0 <= t <= MAX_SECONDS):
                t_field.errors.append(_l("The target T must be from 0 to %(most)s seconds.",
                                         most=MAX_SECONDS))
                ok = False
            if lim is None:
                l_field.errors.append(_l("Enter the limit L in seconds."))
                ok = False
            elif not (math.isfinite(lim) and 0 <= lim <= MAX_SECONDS):
                l_field.errors.append(_l("The limit L must be from 0 to %(most)s seconds.",
                                         most=MAX_SECONDS))
                ok = False
            elif t is not None and lim <= t:
                l_field.errors.append(_l("The limit L must be greater than the target T."))
                ok = False
        return ok


for _vtype in scoring.VISIT_TYPES:
    _label = VISIT_TYPE_LABELS[_vtype]
    setattr(ItemForm, f"t_{_vtype}", FloatField(_l("%(type)s: target T (s)", type=_label),
                                                validators=[Optional()]))
    setattr(ItemForm, f"l_{_vtype}", FloatField(_l("%(type)s: limit L (s)", type=_label),
                                                validators=[Optional()]))


def _nonneg(message, most: float) -> list:
    return [InputRequired(message),
            _between(0, most, _l("Must be from 0 to %(most)s.", most=f"{most:g}"))]


class SettingsForm(FlaskForm):
    w_ms = FloatField(_l("MS (mystery shop) weight"),
                      validators=_nonneg(_l("Enter a weight."), MAX_WEIGHT))
    w_qa = FloatField(_l("QA (quality audit) weight"),
                      validators=_nonneg(_l("Enter a weight."), MAX_WEIGHT))
    w_hl = FloatField(_l("HL (hotline) weight"),
                      validators=_nonneg(_l("Enter a weight."), MAX_WEIGHT))
    d_minor = FloatField(_l("Minor complaint deduction"),
                         validators=_nonneg(_l("Enter points."), 100))
    d_major = FloatField(_l("Major complaint deduction"),
                         validators=_nonneg(_l("Enter points."), 100))
    d_critical = FloatField(_l("Critical complaint deduction"),
                            validators=_nonneg(_l("Enter points."), 100))
    quick_hours = FloatField(_l("Quick resolution within (hours)"),
                             validators=_nonneg(_l("Enter hours."), 24 * 365))
    quick_factor = FloatField(
        _l("Quick-resolution factor (share of the deduction kept)"),
        validators=[InputRequired(_l("Enter a factor.")),
                    _between(0, 1, _l("The factor must be between 0 and 1."))],
    )
    band_excellent = FloatField(_l("Excellent from"),
                                validators=_nonneg(_l("Enter a threshold."), 100))
    band_good = FloatField(_l("Good from"), validators=_nonneg(_l("Enter a threshold."), 100))
    band_fair = FloatField(_l("Fair from"), validators=_nonneg(_l("Enter a threshold."), 100))
    dispute_window_days = IntegerField(
        _l("Dispute window (days after release)"),
        validators=[InputRequired(_l("Enter a number of days.")),
                    NumberRange(0, 365, _l("Between 0 and 365 days."))],
    )
    complaint_overdue_hours = IntegerField(
        _l("Complaint overdue after (hours)"),
        validators=[InputRequired(_l("Enter a number of hours.")),
                    NumberRange(1, 24 * 60, _l("Between 1 and 1440 hours."))],
    )
    exact_times = BooleanField(_l("Store managers see the exact arrival time (else its "
                                  "daypart)"))
    release_delay_hours = IntegerField(
        _l("Minimum delay from the visit to its release to the store (hours)"),
        validators=[Optional(), NumberRange(0, 24 * 60, _l("Between 0 and 1440 hours."))],
    )
    effective_from = StringField(_l("In force from (month, YYYY-MM)"),
                                 validators=[Length(max=40)])
    preview = SubmitField(_l("Preview the effect"))
    submit = SubmitField(_l("Save settings"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        weights = (self.w_ms.data, self.w_qa.data, self.w_hl.data)
        if ok and sum(weights) <= 0:
            self.w_ms.errors.append(_l("At least one component weight must be above 0."))
            ok = False
        bounds = (self.band_excellent, self.band_good, self.band_fair)
        for f in bounds:
            if f.data is not None and f.data > 100:
                f.errors.append(_l("A band threshold must be between 0 and 100."))
                ok = False
        if ok:
            if not self.band_excellent.data > self.band_good.data:
                self.band_good.errors.append(_l("Must be below the Excellent threshold."))
                ok = False
            if not self.band_good.data > self.band_fair.data:
                self.band_fair.errors.append(_l("Must be below the Good threshold."))
                ok = False
        return ok


def _a_month(form: FlaskForm, field: StringField) -> None:
    """The month rule (and message) every page, the API and the CLI use."""
    try:
        analytics.Period.month(field.data or "")
    except analytics.PeriodError as error:
        raise ValidationError(str(error)) from None


class MonthForm(FlaskForm):
    class Meta:
        csrf = False

    month = StringField(
        _l("Month"),
        validators=[DataRequired(_l("Choose a month.")), _a_month],
        render_kw={"type": "month"},
    )


class ReassignForm(FlaskForm):
    shopper_id = SelectField(_l("New shopper"), coerce=int)
    submit = SubmitField(_l("Reassign"))
