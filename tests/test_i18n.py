"""Every user-facing string is in the catalogues; zh-CN is complete and compiled.

Babel names the zh-CN locale zh_Hans_CN, so that is the catalogue's folder."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "fieldsvc" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    found: set[str] = set()
    for folder, method in (("fieldsvc", "python"), ("templates", "jinja2")):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")] if method == "python" else [("**.html", "jinja2")],
            keywords=KEYWORDS,
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_source_string_is_in_the_zh_cn_catalogue() -> None:
    catalogue = _catalogue("zh_Hans_CN")
    missing = sorted(_source_messages() - {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id})
    assert not missing, f"run the pybabel commands of the README; not in zh_CN: {missing}"


def test_zh_cn_catalogue_is_complete_and_not_fuzzy() -> None:
    untranslated = [m.id for m in _catalogue("zh_Hans_CN")
                    if m.id and (not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy)]
    assert not untranslated, f"untranslated or fuzzy zh_CN messages: {untranslated}"


def test_compiled_catalogues_match_their_sources() -> None:
    def plain(value):  # plural forms come as tuples from .po files and lists from .mo files
        return value if isinstance(value, str) else tuple(value)

    for locale in ("zh_Hans_CN", "en"):
        source = {plain(m.id): plain(m.string) for m in _catalogue(locale) if m.id and any(plain(m.string))}
        with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
            # pybabel writes untranslated plural entries with the English forms: not translations
            compiled = {plain(m.id): plain(m.string) for m in read_mo(handle)
                        if m.id and plain(m.string) != plain(m.id)}
        assert compiled == source, f"recompile {locale}: pybabel compile -d fieldsvc/translations"


def test_templates_translate_escape_and_format_like_flask_babel(app) -> None:
    """Pages bind `_`/`ngettext` to the request's translations once (fieldsvc.templating); they
    must still follow the language, escape what they insert, and fill the placeholders."""
    from flask import render_template_string

    page = ('{{ _("Today") }}|{{ _("done %(time)s", time="<b>09:00</b>") }}|'
            '{{ ngettext("%(num)d unread", "%(num)d unread", 3) }}|{% trans %}Today{% endtrans %}')
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(page) == "Today|done &lt;b&gt;09:00&lt;/b&gt;|3 unread|Today"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        chinese = render_template_string(page)
    today = _catalogue("zh_Hans_CN")["Today"].string
    assert chinese.startswith(today + "|") and chinese.endswith("|" + today)
    assert "&lt;b&gt;09:00&lt;/b&gt;" in chinese and "3" in chinese


# Half-width punctuation touching Chinese text (placeholders and times of day aside): zh-CN writes
# （）：，；！？ and “” in full width, as the pages compose them too (the `parens`/`colon` filters).
HALF_WIDTH_BY_CHINESE = re.compile(r"[\u4e00-\u9fff][ ]?[()\:,;!?\"]|[()\:,;!?\"][ ]?[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]")


def test_zh_cn_punctuation_is_full_width() -> None:
    mixed = []
    for message in _catalogue("zh_Hans_CN"):
        for text in ([message.string] if isinstance(message.string, str) else message.string):
            if message.id and HALF_WIDTH_BY_CHINESE.search(PLACEHOLDER.sub("X", text or "")):
                mixed.append(text)
    assert not mixed, mixed


def test_pages_compose_punctuation_in_the_readers_script(app) -> None:
    from flask import render_template_string

    page = '{{ _("Photos") }}{{ _("optional") | parens }}|{{ _("Appointment") | colon }}09:00'
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(page) == "Photos (optional)|Appointment: 09:00"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert render_template_string(page) == "照片（可不填）|预约时段：09:00"
