"""Render report templates to PDF with WeasyPrint, safely and quickly.

Safety: WeasyPrint fetches every ``<img>``, stylesheet and ``url()`` through
``ReportURLFetcher``, which serves only files inside the app's ``static`` folder, the
exact photo files a report names, and inline ``data:`` images. Anything else (http(s),
ftp, other local files such as ``file:///etc/passwd``) is refused and logged; WeasyPrint
then leaves that resource out and the PDF still renders.

Speed: one ``FontConfiguration``, one parsed print stylesheet and one image cache are
shared by every render in the process (WeasyPrint's advice for repeated renders;
``benchmarks/pdf_reports.py`` measures it, docs/PERFORMANCE.md has the figures), and
the cyclic garbage collector runs less often while WeasyPrint lays a document out
(``fewer_collections``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import mimetypes
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

_lock = threading.Lock()
_font_config: FontConfiguration | None = None
_stylesheet: tuple[str, float, CSS] | None = None
_image_cache: dict = {}
_CACHE_LIMIT = 200
#: The garbage collector's thresholds while a PDF renders: WeasyPrint's layout creates
#: hundreds of thousands of boxes, almost all alive until the document is written, so at
#: Python's default (a collection every 700 new objects) a 400-row ranking piece spent
#: ~15 % of its CPU time in ~800 collections that freed next to nothing.
RENDER_GC_THRESHOLDS = (20_000, 20, 20)
_gc_depth = 0
_gc_saved: tuple[int, int, int] | None = None


class RefusedURL(ValueError):
    """A report tried to load something it may not."""


class ReportURLFetcher(URLFetcher):
    """Serves ``file:`` URLs inside ``allowed_dirs`` or equal to one of ``allowed_files``,
    and ``data:`` URLs; refuses everything else. Refused URLs are kept in ``refused``."""

    def __init__(self, allowed_dirs: Iterable[Path], allowed_files: Iterable[Path] = ()):
        super().__init__(timeout=5, allowed_protocols=("file", "data"), allow_redirects=False)
        self.allowed_dirs = [Path(d).resolve() for d in allowed_dirs]
        self.allowed_files = {Path(f).resolve() for f in allowed_files}
        self.refused: list[str] = []
        self.fetched: list[str] = []

    def _refuse(self, url: str, why: str):
        self.refused.append(url)
        log.warning("Report URL refused (%s): %.200s", why, url)
        raise RefusedURL(f"Refused to load {url[:200]!r}: {why}")

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            return self._refuse(url, "only the app's own files may be loaded")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return self._refuse(url, "remote file host")
        try:
            path = Path(unquote(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError):
            return self._refuse(url, "no such file")
        allowed = path in self.allowed_files or any(
            d in path.parents for d in self.allowed_dirs
        )
        if not allowed or not path.is_file():
            return self._refuse(url, "outside the allowed folders")
        self.fetched.append(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often inside (``RENDER_GC_THRESHOLDS``); nested and threaded
    uses share one setting, restored when the last one ends."""
    global _gc_depth, _gc_saved
    with _lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*RENDER_GC_THRESHOLDS)
        _gc_depth += 1
    try:
        yield
    finally:
        with _lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)


def static_root() -> Path:
    return Path(current_app.static_folder or "static").resolve()


def font_config() -> FontConfiguration:
    global _font_config
    with _lock:
        if _font_config is None:
            _font_config = FontConfiguration()
        return _font_config


def print_stylesheet() -> CSS:
    """``static/css/print.css`` (it imports ``palette.css``), parsed once (again only if
    either file changes)."""
    global _stylesheet
    path = static_root() / "css" / "print.css"
    mtime = max(path.stat().st_mtime, (path.parent / "palette.css").stat().st_mtime)
    with _lock:
        if _stylesheet is None or _stylesheet[0] != str(path) or _stylesheet[1] != mtime:
            fetcher = ReportURLFetcher([static_root()])
            css = CSS(filename=str(path), font_config=_font_config_unlocked(),
                      url_fetcher=fetcher)
            _stylesheet = (str(path), mtime, css)
        return _stylesheet[2]


def _font_config_unlocked() -> FontConfiguration:
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    return _font_config


def brand_name() -> str:
    """The chain's name for the running header: the brand in the database, else the
    ``BRAND_NAME`` setting."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Brand

    name = db.session.scalar(select(Brand.name).order_by(Brand.id).limit(1))
    return name or current_app.config.get("BRAND_NAME", "auditapp")


def html_to_pdf(
    html: str,
    *,
    allowed_files: Iterable[Path] = (),
    fetcher: ReportURLFetcher | None = None,
    extra_css: Iterable[str] = (),
) -> bytes:
    """Turn report HTML into PDF bytes with the shared fonts, stylesheet and cache (and
    ``extra_css`` after the print stylesheet)."""
    fetcher = fetcher or ReportURLFetcher([static_root()], allowed_files)
    if len(_image_cache) > _CACHE_LIMIT:
        _image_cache.clear()
    stylesheets = [print_stylesheet(), *(CSS(string=css) for css in extra_css)]
    document = HTML(
        string=html, base_url=static_root().as_uri() + "/", url_fetcher=fetcher
    )
    with fewer_collections():
        return document.write_pdf(
            stylesheets=stylesheets, font_config=font_config(), cache=_image_cache
        )


def report_html(template: str, **context) -> str:
    """``templates/reports/<template>`` rendered (autoescaped Jinja), with the chain's name
    for the running header unless the context gives one."""
    context.setdefault("report_brand", brand_name())
    return render_template(f"reports/{template}", **context)


def render_report(
    template: str,
    *,
    allowed_files: Iterable[Path] = (),
    fetcher: ReportURLFetcher | None = None,
    **context,
) -> bytes:
    """Render ``templates/reports/<template>`` to PDF bytes."""
    return html_to_pdf(report_html(template, **context), allowed_files=allowed_files,
                       fetcher=fetcher)


# --- long reports: rendered in parts, joined, then numbered -----------------------------------
# WeasyPrint keeps every laid-out page of a document in memory (~8 MB per page of a
# 50-row table here), so a 2,000-store ranking in one document peaks well above 500 MB.
# A long report is therefore rendered as several smaller documents, joined with pypdf,
# and "Page X of Y" is stamped on afterwards from a tiny document of footers only.

_PART_CSS = """
@page { @bottom-right { content: none; } }
"""
_CONTINUATION_CSS = """
@page :first {
  @top-left { content: string(brand); border-bottom: 0.6pt solid #12355b; }
  @top-right { content: string(title); border-bottom: 0.6pt solid #12355b; }
}
"""
_STAMP_CSS = """
@page { @top-left { content: none; border: 0; } @top-right { content: none; border: 0; }
        @bottom-left { content: none; } }
@page :first { @top-left { content: none; border: 0; } @top-right { content: none; border: 0; } }
.stamp { height: 1mm; break-after: page; }
.stamp:last-child { break-after: auto; }
"""


def piece_html(template: str, overrides: dict, **context) -> str:
    """The HTML of one piece of a report rendered in parts (``render_piece``)."""
    return report_html(template, **{**context, **overrides})


def piece_pdf(html: str, index: int) -> bytes:
    """One piece's HTML as PDF pages without page numbers (the first piece keeps the first
    page's look; later ones carry the running header from their first page)."""
    return html_to_pdf(html, extra_css=(_PART_CSS, _CONTINUATION_CSS) if index else
                       (_PART_CSS,))


def render_piece(template: str, index: int, overrides: dict, **context) -> bytes:
    """One piece of a report rendered in parts: its pages without page numbers."""
    return piece_pdf(piece_html(template, overrides, **context), index)


def merge_and_stamp(pieces: Iterable[bytes], *, title: str) -> bytes:
    """Join the pieces' PDFs in order and stamp every page "Page X of Y" once, from a tiny
    document of footers only (the same footer as a report rendered in one go)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in pieces:
        writer.append(PdfReader(io.BytesIO(data)))
    total = len(writer.pages)
    stamps_html = render_template("reports/_page_numbers.html", pages=total, title=title)
    stamps = PdfReader(io.BytesIO(html_to_pdf(stamps_html, extra_css=(_STAMP_CSS,))))
    for page, stamp in zip(writer.pages, stamps.pages, strict=True):
        page.merge_page(stamp)
        page.compress_content_streams()  # merging leaves the page's content uncompressed
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_report_in_parts(template: str, parts: list[dict], **context) -> bytes:
    """Render ``template`` once per entry of ``parts`` (context overrides), join the PDFs
    in order and number every page "Page X of Y". Memory stays that of the largest part."""
    context.setdefault("report_brand", brand_name())

    def pieces():
        for index, overrides in enumerate(parts):
            yield render_piece(template, index, overrides, **context)
            gc.collect()

    return merge_and_stamp(pieces(), title=context.get("title", ""))


def brand_summary_pieces(ctx: dict, rows: int | None = None) -> list[dict] | None:
    """The pieces (context overrides) of the brand summary: the front sections, then the
    store ranking in pieces of at most ``rows`` stores (default ``REPORT_PART_ROWS``,
    400). None when the ranking is short enough for one document (and ``rows`` was not
    given)."""
    chunks = ctx["store_chunks"]
    forced = rows is not None
    limit = rows if forced else int(current_app.config.get("REPORT_PART_ROWS", 400))
    if not forced and sum(len(c) for c in chunks) <= limit:
        return None
    per_part = max(1, limit // max(len(chunks[0]), 1))
    groups = [chunks[i:i + per_part] for i in range(0, len(chunks), per_part)]
    return [{"part": "front", "last_part": False, "store_chunks": []}] + [
        {"part": "ranking", "store_chunks": group, "ranking_first": i == 0,
         "last_part": i == len(groups) - 1}
        for i, group in enumerate(groups)
    ]


def render_brand_summary(ctx: dict, report_date) -> bytes:
    """The brand (or region) summary. A long store ranking is rendered in parts of at most
    ``REPORT_PART_ROWS`` stores (default 400) to bound memory; a short one in one go."""
    parts = brand_summary_pieces(ctx)
    if parts is None:
        return render_report("brand_summary.html", report_date=report_date, **ctx)
    return render_report_in_parts(
        "brand_summary.html", parts, report_date=report_date,
        **{k: v for k, v in ctx.items() if k != "store_chunks"},
    )


def brand_summary_pdf(
    period, region=None, *, progress: Callable[[int], None] | None = None, report_date=None
) -> tuple[bytes, str]:
    """The brand (or one region's) summary for ``period``: (PDF bytes, download file name).
    The one build behind both the download rendered in the request and the background
    job (``jobs.build_brand_summary``); ``progress(pct)`` reports how far it got."""
    from datetime import date

    from .context import brand_summary_context

    step = progress or (lambda pct: None)
    ctx = brand_summary_context(period, region, progress=step)
    step(75)
    data = render_brand_summary(ctx, report_date=report_date or date.today())
    step(95)
    suffix = f"-{region.code}" if region else ""
    return data, f"brand-summary-{period.label}{suffix}.pdf"
