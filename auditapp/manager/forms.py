"""Forms of the managers' portal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..inputs import StorableText


class ActionForm(FlaskForm):
    answer_id = IntegerField(validators=[InputRequired()])
    action = TextAreaField(
        _l("What will be done"),
        validators=[DataRequired(_l("Describe the corrective action.")), Length(max=2000),
                    StorableText()],
    )
    owner = StringField(
        _l("Owner"),
        validators=[DataRequired(_l("Name who is responsible.")), Length(max=120),
                    StorableText()],
    )
    due_date = DateField(
        _l("Due date"),
        validators=[DataRequired(_l("Enter a due date (YYYY-MM-DD)."))],
    )


class DisputeForm(FlaskForm):
    answer_id = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(
        _l("Why is this result wrong?"),
        validators=[
            DataRequired(_l("Explain the reason for the dispute.")),
            Length(min=10, max=4000, message=_l("Write between 10 and 4000 characters.")),
            StorableText(),
        ],
    )
    evidence = FileField(_l("Evidence photo (optional; JPEG, PNG or WebP)"),
                         validators=[Optional()])


class SimpleForm(FlaskForm):
    """A button-only form (acknowledge, mark done): CSRF only."""
