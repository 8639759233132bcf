"""Pico CSS is built with only the modules the pages use (static/vendor/pico/fieldsvc.scss, built by
build.sh). These fail when a template, a script or HTML built in Python starts to use what a
disabled module styled (bring the module back and rebuild), and when pico.min.css is not the
build of fieldsvc.scss as it stands. No browser, no npm."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PICO = ROOT / "static" / "vendor" / "pico"
SCSS = PICO / "fieldsvc.scss"

# Pico 2.1.1's $modules (scss/_settings.scss).
PICO_MODULES = {
    "themes/default", "layout/document", "layout/landmarks", "layout/container", "layout/section", "layout/grid",
    "layout/overflow-auto", "content/link", "content/typography", "content/embedded", "content/button",
    "content/table", "content/code", "content/figure", "content/misc", "forms/basics",
    "forms/checkbox-radio-switch", "forms/input-color", "forms/input-date", "forms/input-file",
    "forms/input-range", "forms/input-search", "components/accordion", "components/card", "components/dropdown",
    "components/group", "components/loading", "components/modal", "components/nav", "components/progress",
    "components/tooltip", "utilities/accessibility", "utilities/reduce-motion",
}
# What every page needs (the theme, the page, text, links, form basics, accessibility): never off.
ALWAYS = {"themes/default", "layout/document", "layout/landmarks", "layout/container", "content/typography",
          "content/link", "forms/basics", "utilities/accessibility", "utilities/reduce-motion"}


def _class(name: str) -> list[str]:
    """A class in markup (class="… name …"), in a WTForms render_kw, or added by a script."""
    word = rf"(?<![\w-]){re.escape(name)}(?![\w-])"
    return [rf"""\bclass_?\s*[=:]\s*["'][^"']*{word}""", rf"""classList\.(?:add|toggle|replace)\([^)]*["']{word}["']""",
            rf"""className\s*[+]?=\s*["'][^"']*{word}"""]


def _tag(*names: str) -> list[str]:
    return [rf"<{name}\b" for name in names] + [rf"""createElement\(\s*["']{name}["']""" for name in names]


def _type(*names: str) -> list[str]:
    """An input type, in markup, as a template's field(…, type="…") or set by a script."""
    return [rf"""\btype\s*=\s*["']?{name}\b""" for name in names] + [rf"""\.type\s*=\s*["']{name}["']""" for name in names]


# For each module that may be turned off: what in a page means it is used, and a selector that only
# that module writes (absent from our pico.min.css while the module is off).
USES: dict[str, tuple[list[str], str]] = {
    "layout/section": (_tag("section"), ""),
    "layout/grid": (_class("grid"), ".grid{"),
    "layout/overflow-auto": (_class("overflow-auto"), ".overflow-auto{"),
    "content/embedded": (_tag("img", "svg", "canvas", "video", "audio", "iframe", "object", "embed"), ""),
    "content/button": (_tag("button") + [r"""role=["']?button"""] + _type("submit", "button", "reset"), ""),
    "content/table": (_tag("table"), ""),
    "content/code": (_tag("code", "pre", "kbd", "samp"), ""),
    "content/figure": (_tag("figure", "figcaption"), "figcaption"),
    "content/misc": (_tag("hr", "template") + [r"\bhidden\b"], ""),
    "forms/checkbox-radio-switch": (_type("checkbox", "radio") + [r"""role=["']?switch""", r"\b(Boolean|Radio|Checkboxes)Field\b"], ""),
    "forms/input-color": (_type("color") + [r"\bColorField\b"], "[type=color]"),
    "forms/input-date": (_type("date", "datetime-local", "month", "time", "week") + [r"\b(Date|Time|DateTime|DateTimeLocal|Month|Week|Day)Field\b"], ""),
    "forms/input-file": (_type("file") + [r"\b(Multiple)?FileField\b"], ""),
    "forms/input-range": (_type("range") + [r"\b(Integer|Decimal)?RangeField\b"], "slider-thumb"),
    "forms/input-search": (_type("search") + [r"\bSearchField\b"], ""),
    "components/accordion": (_tag("details", "summary"), ""),
    "components/card": (_tag("article"), ""),
    "components/dropdown": (_class("dropdown"), "details.dropdown"),
    "components/group": ([r"""\brole\s*=\s*["']?(group|search)\b""", r"""setAttribute\(\s*["']role["']\s*,\s*["'](group|search)"""]
                         + _tag("search"), "[role=group]"),
    "components/loading": ([r"aria[-_]busy", r"ariaBusy"], "[aria-busy=true]:not(input"),
    "components/modal": (_tag("dialog") + [r"\bshowModal\b"] + _class("modal-is-open"), "dialog"),
    "components/nav": (_tag("nav"), ""),
    "components/progress": (_tag("progress"), ""),
    "components/tooltip": ([r"data[-_]tooltip", r"dataset\.tooltip"], "[data-tooltip]"),
}


def disabled_modules() -> list[str]:
    """The modules fieldsvc.scss turns off ("module": false,), in its order."""
    return re.findall(r'^\s*"([a-z-]+/[a-z-]+)":\s*false\b', SCSS.read_text(encoding="utf-8"), re.MULTILINE)


def page_sources() -> list[Path]:
    """Where page markup comes from: the templates, our scripts, and HTML built in the package."""
    return sorted([*(ROOT / "templates").rglob("*.html"), *(ROOT / "static" / "js").glob("*.js"),
                   *(ROOT / "fieldsvc").rglob("*.py")])


def uses_of(module: str, sources: list[Path]) -> list[str]:
    patterns = [re.compile(p, re.IGNORECASE) for p in USES[module][0]]
    found = []
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in patterns):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where}:{number}: {line.strip()[:100]}")
    return found


def built_css() -> str:
    return (PICO / "pico.min.css").read_text(encoding="utf-8")


def test_the_scss_turns_off_known_modules_that_the_pages_may_lose() -> None:
    disabled = disabled_modules()
    assert disabled, "fieldsvc.scss turns no module off: is the map still written as \"module\": false?"
    assert set(disabled) <= PICO_MODULES, set(disabled) - PICO_MODULES  # a misspelt name turns nothing off
    assert not set(disabled) & ALWAYS, set(disabled) & ALWAYS
    assert set(disabled) <= set(USES), f"say in USES what marks a use of {set(disabled) - set(USES)}"
    assert set(USES) | ALWAYS == PICO_MODULES


@pytest.mark.parametrize("module", disabled_modules())
def test_no_page_uses_a_module_that_is_turned_off(module: str) -> None:
    found = uses_of(module, page_sources())
    assert not found, (f"{module} is turned off in static/vendor/pico/fieldsvc.scss, but the pages use it: "
                       f"delete its line there, run bash static/vendor/pico/build.sh and bench/css_screens.py\n"
                       + "\n".join(found))


def test_the_markers_find_what_they_look_for(tmp_path: Path) -> None:
    """Each module's patterns catch the markup that needs it (and the kept modules are in use)."""
    samples = {
        "layout/grid": '<div class="grid">', "layout/overflow-auto": "<div class='wide overflow-auto'>",
        "content/figure": "<figure><img src=x></figure>", "forms/input-color": '{{ field(form.tint, type="color") }}',
        "forms/input-range": '<input type="range" min="0">', "components/dropdown": '<details class="dropdown">',
        "components/group": '<div role="group">', "components/loading": '<button aria-busy="true">',
        "components/modal": "<dialog open>", "components/tooltip": '<span data-tooltip="Hi">',
    }
    page = tmp_path / "page.html"
    for module, markup in samples.items():
        page.write_text(markup, encoding="utf-8")
        assert uses_of(module, [page]), module
    page.write_text('<div class="grid-filters"><span class="badge">', encoding="utf-8")
    assert not uses_of("layout/grid", [page]) and not uses_of("components/dropdown", [page])
    kept = sorted(set(USES) - set(disabled_modules()))
    assert [m for m in kept if not uses_of(m, page_sources())] == []


def test_pico_min_css_is_the_build_of_fieldsvc_scss() -> None:
    css = built_css()
    assert css.startswith('@charset "UTF-8";/*!\n * Pico CSS ✨ v2.1.1 (https://picocss.com)\n'
                          ' * Copyright 2019-2025 - Licensed under MIT\n */'), "Pico's licence banner comes first"
    note = re.search(r"/\*! fieldsvc build \(static/vendor/pico/build\.sh\) of fieldsvc\.scss "
                     r"sha256:([0-9a-f]{64}), without ([^*]*) \*/", css)
    assert note, "pico.min.css is not the output of static/vendor/pico/build.sh"
    assert note.group(1) == hashlib.sha256(SCSS.read_bytes()).hexdigest(), (
        "fieldsvc.scss changed since pico.min.css was built: run bash static/vendor/pico/build.sh")
    assert note.group(2).split(", ") == disabled_modules()
    assert 40_000 < len(css.encode()) < 83_319  # Pico's full pico.min.css is 83,319 bytes
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    for module in disabled_modules():
        marker = USES[module][1]
        assert marker and marker not in rules, (module, marker)
    for kept in ("details summary", "progress", "[type=search]", "[type=file]", "article", "nav ul",
                 "prefers-color-scheme:dark", '[data-theme=dark]'):
        assert kept in rules, kept
    version = (PICO / "VERSION").read_text(encoding="utf-8")
    assert version.startswith("Pico CSS 2.1.1 ") and "fieldsvc.scss" in version


def test_app_css_uses_only_pico_variables_that_the_build_defines() -> None:
    defined = set(re.findall(r"(--pico-[\w-]+)\s*:", built_css()))
    app_css = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    used = set(re.findall(r"var\(\s*(--pico-[\w-]+)", app_css))
    assert used and used <= defined, used - defined
