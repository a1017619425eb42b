"""Shared helpers for the i18n tests: the pages to visit per role and the visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attributes whose values people see or hear (buttons' value only).
SEEN_ATTRS = ("title", "placeholder", "aria-label", "alt")
SKIP_TAGS = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._title_svg = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in SKIP_TAGS:
            self._skip += 1
            return
        if tag in ("input", "option") and a.get("type") == "hidden":
            return
        for name in SEEN_ATTRS:
            if a.get(name):
                self.parts.append(a[name])
        # a <button>'s value is sent, not shown; an <input type=submit>'s value is its label
        if a.get("value") and tag == "input" and a.get("type") in ("submit", "button", "reset"):
            self.parts.append(a["value"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIP_TAGS:
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")

#: Acronyms and codes that stay as they are in Chinese pages.
ACRONYMS = {"BDI", "MS", "QA", "HL", "CSM", "CSV", "XLSX", "PDF", "API", "ID", "BI", "URL", "GPS",
            "UTC", "KPI", "auditapp", "English", "s", "min", "h", "km", "m", "CNY", "e-mail",
            "email", "OK", "JSON", "Excel", "token", "Bearer", "curl", "Authorization", "JPEG",
            "PNG", "HEIC", "MB", "KB", "WebP", "App", "UTF", "BOM", "YYYY", "MM", "DD", "HH",
            "docs", "API-HQ", "md", "YYYY-MM", "YYYY-MM-DD", "IANA", "Asia", "Shanghai", "yes",
            "no", "N/A"}
#: Whole strings that are code, not prose (the CSV columns a file must have).
CODE_STRINGS = {"code,name,address,city,region_code,timezone,has_drive_thru,latitude,longitude"}


def data_strings() -> set[str]:
    """Every name, code and free text held in the database (the data, not the interface)."""
    from sqlalchemy import inspect, select

    from auditapp.extensions import db

    values: set[str] = set()
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        cols = [c.key for c in inspect(cls).column_attrs
                if getattr(c.columns[0].type, "python_type", None) is str
                and c.key not in ("password_hash", "role", "status", "kind", "visit_type",
                                  "severity", "item_type", "locale", "channel")]
        # lists of texts in JSON columns (e.g. the options of a quiz or integrity question)
        lists = [c.key for c in inspect(cls).column_attrs
                 if c.key == "options" and getattr(cls, "__tablename__", "").endswith("questions")]
        cols += lists
        if not cols:
            continue
        for row in db.session.execute(select(*[getattr(cls, c) for c in cols])):
            values.update(v for v in row if isinstance(v, str) and v)
            for v in row:
                if isinstance(v, list):
                    values.update(x for x in v if isinstance(x, str) and x)
    return values


def english_leftovers(parts: list[str], allowed: set[str]) -> list[str]:
    """The visible strings that still contain English words not in the data or acronyms."""
    words_allowed = set(ACRONYMS)
    for value in allowed:
        words_allowed.update(WORD.findall(value))
    left = []
    for part in parts:
        if part in allowed or part in CODE_STRINGS:
            continue
        stray = [w for w in WORD.findall(part) if w not in words_allowed]
        if stray:
            left.append(part)
    return left
