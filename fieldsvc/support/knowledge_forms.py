"""The note form of the admin pages (format and required fields; the rules are in knowledge.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..db import column_length
from .knowledge import BODY_MAX, ProcedureNote


class _Checkboxes(SelectMultipleField):
    """Checkboxes for a few choices (admin.forms has the same, one layer above)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NoteForm(FlaskForm):
    title_zh = StringField(_l("Title (Chinese)"),
                           validators=[DataRequired(), Length(max=column_length(ProcedureNote.title_zh))])
    title_en = StringField(_l("Title (English, optional)"),
                           validators=[Optional(), Length(max=column_length(ProcedureNote.title_en))])
    body_zh = TextAreaField(_l("Text (Chinese, Markdown)"), validators=[DataRequired(), Length(max=BODY_MAX)],
                            render_kw={"rows": 12})
    body_en = TextAreaField(_l("Text (English, Markdown, optional)"), validators=[Optional(), Length(max=BODY_MAX)],
                            render_kw={"rows": 12})
    job_types = _Checkboxes(_l("Shown on jobs of type"), validators=[Optional()])
    categories = _Checkboxes(_l("Shown beside help requests about"), validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)
    version = HiddenField()  # the note's version as the editor saw it (a stale one: 409)
