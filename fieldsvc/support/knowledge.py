"""Knowledge at the door (#15 item 5): short standard-procedure notes that admins write in Markdown,
linked to job types and support categories, and shown where they apply (the job page; beside a
help request). The notes, their links, the admin services (audited) and safe rendering.

Rendering is two layers, so that neither alone has to be perfect: markdown-it-py with raw HTML off
(anything typed as HTML comes out as text) and its own refusal of javascript:/data: links, then nh3
(the Ammonia sanitiser) with a short list of tags and attributes, http(s)/mailto/tel links only,
images only from this site, and rel="noopener noreferrer" on every link."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import nh3
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from ..audit.services import record
from ..db import Base, column_length, utcnow
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..workforce.models import JobType
from .categories import SUPPORT_CATEGORIES

if TYPE_CHECKING:
    from ..auth.models import User

procedure_note_job_types = Table(
    "procedure_note_job_types",
    Base.metadata,
    Column("note_id", ForeignKey("procedure_notes.id", ondelete="CASCADE"), primary_key=True),
    Column("job_type_id", ForeignKey("job_types.id", ondelete="CASCADE"), primary_key=True),
    # The job page asks "the notes of this job type": the reverse of the key.
    Index("ix_procedure_note_job_types_job_type_id", "job_type_id"),
)


class ProcedureNoteCategory(Base):
    """A note's link to a support category (a code of SUPPORT_CATEGORIES, not a table)."""

    __tablename__ = "procedure_note_categories"
    __table_args__ = (Index("ix_procedure_note_categories_category", "category"),)

    note_id: Mapped[int] = mapped_column(ForeignKey("procedure_notes.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)


class ProcedureNote(Base):
    """A standard-procedure note: titles and Markdown body in Chinese (and optionally English)."""

    __tablename__ = "procedure_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(120))
    title_en: Mapped[str] = mapped_column(String(120), default="")
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Raised by every edit: the edit form carries it, so an edit from a stale page is refused (409).
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    job_types: Mapped[list[JobType]] = relationship(secondary=procedure_note_job_types, order_by=JobType.id)
    category_links: Mapped[list[ProcedureNoteCategory]] = relationship(cascade="all, delete-orphan",
                                                                       order_by=ProcedureNoteCategory.category)
    updated_by: Mapped[User | None] = relationship()

    @property
    def categories(self) -> list[str]:
        """The support category codes the note is linked to."""
        return [link.category for link in self.category_links]

    def title(self, locale: str) -> str:
        """The title in the reader's language (the Chinese one when there is no English)."""
        return self.title_en if not locale.startswith("zh") and self.title_en else self.title_zh

    def body(self, locale: str) -> str:
        """The Markdown body in the reader's language (the Chinese one when there is no English)."""
        return self.body_en if not locale.startswith("zh") and self.body_en.strip() else self.body_zh


# --- rendering ---------------------------------------------------------------------------------

# What a note may contain once rendered: text structure, links, same-site images, simple tables.
ALLOWED_TAGS = frozenset({"p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
                          "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
HEADING_SHIFT = 2  # a note's "# Title" becomes <h3>: it sits under the page's h1 and the panel's h2

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _same_site(url: str) -> bool:
    """A path on this site ("/static/…"), not another host ("//host", "http://…", "/\\host", and
    markdown-it's "/%5Chost" of the same, refused too although browsers read it as a path)."""
    return url.startswith("/") and not url.lower().startswith(("//", "/\\", "/%5c"))


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """nh3's last word on each attribute: an image from another host loses its source."""
    if tag == "img" and attribute == "src" and not _same_site(value.strip()):
        return None
    return value


def sanitise(html: str) -> str:
    """HTML cut down to ALLOWED_TAGS/ATTRIBUTES and safe links (the second layer; also on its own)."""
    cleaned = nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                        url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer",
                        attribute_filter=_attribute_filter, strip_comments=True)
    # An <img> whose source was refused shows nothing: drop what is left of it.
    return cleaned.replace("<img>", "")


@lru_cache(maxsize=512)
def render_markdown(source: str) -> Markup:
    """A note's Markdown as safe HTML. Cached by the text itself, so each version of a note is
    rendered once per process and an edit (new text) can never be served a stale rendering."""
    tokens = _markdown.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + HEADING_SHIFT, 6)}"
        # An image from another host is shown as its alt text (nh3 would leave an empty tag).
        for child in token.children or ():
            if child.type == "image" and not _same_site(str(child.attrGet("src") or "")):
                child.type, child.tag, child.attrs = "text", "", {}
                child.content = "".join(c.content for c in child.children or ())
                child.children = None
    return Markup(sanitise(_markdown.renderer.render(tokens, _markdown.options, {})))  # nosec B704


def render(note: ProcedureNote, locale: str) -> Markup:
    """The note's body in the reader's language, rendered and sanitised."""
    return render_markdown(note.body(locale))


# --- reading -----------------------------------------------------------------------------------

def _by_title(note: ProcedureNote) -> tuple[str, int]:
    """Notes by their Chinese title, in code-point order: the same on SQLite and on PostgreSQL,
    whatever the database's collation (sorted in Python, a page holds a handful)."""
    return note.title_zh, note.id


def notes_for(job_type_code: str | None = None, category: str | None = None) -> list[ProcedureNote]:
    """The active notes linked to the job type or to the support category (either, when both are
    given), by title; [] when neither is given. One statement: the job page and the desk show
    titles and bodies only, so the notes' other links are not loaded (they would cost two more)."""
    conditions = []
    if job_type_code:
        conditions.append(ProcedureNote.job_types.any(JobType.code == job_type_code))
    if category:
        conditions.append(ProcedureNote.category_links.any(ProcedureNoteCategory.category == category))
    if not conditions:
        return []
    query = select(ProcedureNote).where(ProcedureNote.is_active.is_(True), or_(*conditions))
    return sorted(db.session.scalars(query), key=_by_title)


def notes_by_category() -> dict[str, list[ProcedureNote]]:
    """The active notes linked to each support category, by title, the categories in their own
    order (one without notes is left out): what "Ask for help" shows beside the category chosen.
    One statement, without the notes' other links (titles and bodies are all it shows)."""
    rows = db.session.execute(select(ProcedureNoteCategory.category, ProcedureNote)
                              .join(ProcedureNote, ProcedureNote.id == ProcedureNoteCategory.note_id)
                              .where(ProcedureNote.is_active.is_(True))).all()
    grouped: dict[str, list[ProcedureNote]] = {}
    for category, note in rows:
        grouped.setdefault(category, []).append(note)
    return {code: sorted(grouped[code], key=_by_title) for code in SUPPORT_CATEGORIES if code in grouped}


def all_notes() -> list[ProcedureNote]:
    """Every note, active first, by title, with its links and last editor (the admin list)."""
    query = (select(ProcedureNote)
             .options(selectinload(ProcedureNote.job_types), selectinload(ProcedureNote.category_links),
                      selectinload(ProcedureNote.updated_by)))
    return sorted(db.session.scalars(query), key=lambda n: (not n.is_active, *_by_title(n)))


def load_note(note_id: int, *, lock: bool = False) -> ProcedureNote | None:
    """One note by id (locked until the commit when about to be edited), or None."""
    query = select(ProcedureNote).where(ProcedureNote.id == note_id)
    return db.session.scalar(query.with_for_update() if lock else query)


# --- writing (admins) --------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteData:
    """What the note form sends."""

    title_zh: str
    body_zh: str
    title_en: str = ""
    body_en: str = ""
    job_types: Sequence[str] = field(default_factory=tuple)
    categories: Sequence[str] = field(default_factory=tuple)
    is_active: bool = True


def note_state(note: ProcedureNote) -> dict[str, Any]:
    """The note's editable fields as the audit log records them (links by code)."""
    return {"title_zh": note.title_zh, "title_en": note.title_en, "body_zh": note.body_zh, "body_en": note.body_en,
            "job_types": sorted(t.code for t in note.job_types), "categories": sorted(note.categories),
            "is_active": note.is_active}


def _checked(data: NoteData) -> tuple[dict[str, str], list[JobType], list[str]]:
    """The stripped texts, the job types and categories named; InvalidInput listing what is wrong."""
    texts = {"title_zh": data.title_zh.strip(), "title_en": data.title_en.strip(),
             "body_zh": data.body_zh.strip(), "body_en": data.body_en.strip()}
    errors: dict[str, list[Any]] = {}
    for name in ("title_zh", "body_zh"):
        if not texts[name]:
            errors[name] = [_l("This field is required.")]
    for name in ("title_zh", "title_en"):
        limit = column_length(getattr(ProcedureNote, name))
        if len(texts[name]) > limit:
            errors[name] = [_l("At most %(max)d characters.", max=limit)]
    for name in ("body_zh", "body_en"):
        if len(texts[name]) > BODY_MAX:
            errors[name] = [_l("At most %(max)d characters.", max=BODY_MAX)]
    codes = list(dict.fromkeys(data.job_types))
    types = list(db.session.scalars(select(JobType).where(JobType.code.in_(codes)).order_by(JobType.id))) if codes else []
    if len(types) != len(codes):
        errors["job_types"] = [_l("Unknown job type.")]
    categories = sorted(set(data.categories))
    if any(c not in SUPPORT_CATEGORIES for c in categories):
        errors["categories"] = [_l("Unknown support category.")]
    if errors:
        raise InvalidInput(str(_l("The note was not saved: see the marked fields.")), errors=errors)
    return texts, types, categories


BODY_MAX = 20_000  # "short" notes: a page or two on a phone; the limit keeps a paste accident out


def _apply(note: ProcedureNote, actor: Any, data: NoteData) -> None:
    texts, types, categories = _checked(data)
    for name, value in texts.items():
        setattr(note, name, value)
    note.job_types = types
    kept = {link.category: link for link in note.category_links}
    note.category_links = [kept.get(c) or ProcedureNoteCategory(category=c) for c in categories]
    note.is_active = data.is_active
    note.updated_at, note.updated_by_id = utcnow(), getattr(actor, "id", None)


def create_note(actor: Any, data: NoteData) -> ProcedureNote:
    """A new note (audited "note.create")."""
    note = ProcedureNote(version=1)
    _apply(note, actor, data)
    note.created_at = note.updated_at
    db.session.add(note)
    db.session.flush()
    record(actor, "note.create", "note", str(note.id), None, note_state(note))
    return note


def edit_note(actor: Any, note: ProcedureNote, data: NoteData, *, version: int | None) -> ProcedureNote:
    """Change a note (audited "note.edit"). Refused (409) when `version` is not the note's: someone
    saved it since the editor opened it. An edit that changes nothing keeps the version."""
    if version != note.version:
        raise Conflict(str(_l("Someone changed this note meanwhile: reload the page and make your change again.")))
    before = note_state(note)
    _apply(note, actor, data)
    after = note_state(note)
    if after != before:
        note.version += 1
        db.session.flush()
        record(actor, "note.edit", "note", str(note.id), before, after)
    else:
        db.session.expire(note, ["updated_at", "updated_by_id"])  # nothing changed: not "updated" either
    return note


def linked_labels(note: ProcedureNote, locale: str) -> list[str]:
    """What the note is linked to, named for the reader: job types, then support categories."""
    return [*(t.name(locale) for t in note.job_types), *(str(SUPPORT_CATEGORIES[c]) for c in note.categories
                                                           if c in SUPPORT_CATEGORIES)]
