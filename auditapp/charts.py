"""Inline SVG charts for pages and PDFs, and the colour palette they draw with.

Pure functions returning SVG markup (labels are escaped here). No scripts and no inline
``style`` attributes (the CSP forbids them): colours are SVG presentation attributes. Each
chart has a ``<title>`` (read out as its alt text); in a PDF WeasyPrint draws it as vectors.

The colours come from ``static/css/palette.css``, the one place they are written: pages link
it, ``print.css`` imports it, and ``PALETTE`` below reads it (``--name: #hex`` pairs), so the
band colours of a chart, a page and a PDF cannot drift apart.

- page charts: ``bar_chart``, ``line_chart``, ``band_of``; each picture is followed by its
  figures as a table (in a ``<details>``), its text alternative (WCAG 1.1.1);
- report (PDF) charts: ``trend_chart``, ``grouped_bars``, ``band_bars``, ``heat_colour``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from flask_babel import gettext
from markupsafe import Markup, escape

from . import scoring
from .config import resource_dir
from .i18n import fmt_interval
from .scoring import fmt_score

PALETTE_CSS = resource_dir("static") / "css" / "palette.css"


def _palette() -> dict[str, str]:
    text = PALETTE_CSS.read_text(encoding="utf-8")
    return dict(re.findall(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{3,8})\s*;", text))


#: The colours of ``static/css/palette.css`` by custom-property name (without ``--``).
PALETTE = _palette()
#: Colours of the BDI bands, by band code (the custom properties of the same names).
BAND_COLOURS = {
    code: PALETTE[code] for code in ("excellent", "good", "fair", "needs_improvement")
}
INK, MUTED, LINE, ACCENT = PALETTE["ink"], PALETTE["muted"], PALETTE["line"], PALETTE["brand-2"]
#: the 90 % interval of a point (SCORING.md §10), drawn as a whisker behind it
WHISKER = PALETTE["series-2"]


def _interval_of(point: Sequence) -> object | None:
    """A chart point is (label, value) or (label, value, interval with .low/.high)."""
    return point[2] if len(point) > 2 and point[1] is not None else None


def _whisker(x: float, y_low: float, y_high: float, cap: float, width: float) -> str:
    """A vertical line from y_low to y_high with caps, in the interval colour."""
    x1, x2 = _num(x - cap), _num(x + cap)
    return (
        f'<g class="interval" stroke="{WHISKER}" stroke-width="{_num(width)}">'
        f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{_num(y_low)}" y2="{_num(y_high)}"/>'
        f'<line x1="{x1}" x2="{x2}" y1="{_num(y_low)}" y2="{_num(y_low)}"/>'
        f'<line x1="{x1}" x2="{x2}" y1="{_num(y_high)}" y2="{_num(y_high)}"/></g>'
    )


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text_width(text: str, size: float) -> float:
    """Rough width of a label in px: CJK characters are about twice as wide as Latin."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _figures(title: str, rows: Sequence[tuple]) -> str:
    """The chart's figures as a table under a disclosure: what the picture shows, as text.
    A row is (label, value) or, like a line chart's point, (label, value, interval): the
    interval the whisker draws is written after the value, as on the pages."""
    cells = []
    for row in rows:
        label, value, span = row[0], row[1], _interval_of(row)
        text = "–" if value is None else _num(value)
        if span is not None:
            text += f" ({fmt_interval(span)})"
        cells.append(f'<tr><th scope="row">{escape(label)}</th>'
                     f'<td class="num">{escape(text)}</td></tr>')
    summary = gettext("Show the figures")
    return (
        f'<details class="chart-data"><summary>{escape(summary)}</summary>'
        f'<table class="table"><caption>{escape(title)}</caption><tbody>{"".join(cells)}'
        f"</tbody></table></details>"
    )


def bar_chart(
    bars: Sequence[tuple[str, float, str]],
    *,
    title: str,
    width: int = 420,
    bar_height: int = 26,
) -> Markup:
    """Horizontal bars: ``(label, value, colour)``; values are counts or scores ≥ 0."""
    label_width = 12 + max((_text_width(label, 13) for label, _, _ in bars), default=40)
    label_width = min(label_width, width // 2)
    top = 6
    height = top * 2 + len(bars) * (bar_height + 8)
    biggest = max((v for _, v, _ in bars), default=0) or 1
    room = width - label_width - 40
    parts = [
        '<figure class="chart-figure">'
        f'<svg class="chart bar-chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, value, colour) in enumerate(bars):
        y = top + index * (bar_height + 8)
        length = room * value / biggest
        middle = y + bar_height / 2 + 5
        parts.append(
            f'<text x="{label_width - 8}" y="{_num(middle)}" text-anchor="end" '
            f'font-size="13" fill="{INK}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{_num(max(length, 1))}" '
            f'height="{bar_height}" rx="4" fill="{escape(colour)}"/>'
            f'<text x="{_num(label_width + length + 6)}" y="{_num(middle)}" font-size="13" '
            f'font-weight="700" fill="{INK}">{escape(_num(value))}</text>'
        )
    parts.append("</svg>")
    parts.append(_figures(title, [(label, value) for label, value, _c in bars]) + "</figure>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple],
    *,
    title: str,
    width: int = 600,
    height: int = 220,
    low: float | None = None,
    high: float = 100.0,
    guides: Sequence[float] = (70.0, 80.0, 90.0),
) -> Markup:
    """A line over labelled points (e.g. months → BDI); None leaves a gap. A point may
    carry its 90 % interval as a third element: drawn as a whisker."""
    left, right, top, bottom = 36, 28, 12, 28
    values = [p[1] for p in points if p[1] is not None]
    values += [i.low for i in map(_interval_of, points) if i is not None]
    if low is None:
        low = min([*values, *guides], default=0.0)
        low = max(0.0, (int(low) // 10) * 10 - 10)
    span = (high - low) or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)
    stride = max(1, (len(points) + 5) // 6)

    def xy(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + plot_h * (high - value) / span

    parts = [
        '<figure class="chart-figure">'
        f'<svg class="chart line-chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for guide in (low, *[g for g in guides if low < g < high], high):
        _, y = xy(0, guide)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{LINE}"/><text x="{left - 4}" y="{_num(y + 4)}" text-anchor="end" '
            f'font-size="12" fill="{MUTED}">{_num(guide)}</text>'
        )
    for index, point in enumerate(points):
        interval = _interval_of(point)
        if interval is not None:
            x, y_low = xy(index, interval.low)
            parts.append(_whisker(x, y_low, xy(index, interval.high)[1], 4, 1.5))
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, (label, value, *_span) in enumerate(points):
        x = left + index * step
        # label the first point, the last, and every stride-th back from the last
        if index == 0 or ((len(points) - 1 - index) % stride == 0 and index >= stride):
            parts.append(
                f'<text x="{_num(x)}" y="{height - 8}" text-anchor="middle" font-size="12" '
                f'fill="{MUTED}">{escape(label)}</text>'
            )
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        px, py = xy(index, value)
        segment.append(f"{_num(px)},{_num(py)}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="{ACCENT}" '
            f'stroke-width="2.5" stroke-linejoin="round"/>'
        )
    for index, (label, value, *_span) in enumerate(points):
        if value is not None:
            px, py = xy(index, value)
            parts.append(
                f'<circle cx="{_num(px)}" cy="{_num(py)}" r="3.5" fill="{ACCENT}">'
                f"<title>{escape(label)}: {escape(_num(value))}</title></circle>"
            )
    parts.append("</svg>")
    parts.append(_figures(title, points) + "</figure>")
    return Markup("".join(parts))


def band_of(value: float | None, bands: Sequence[tuple[float, str]]) -> str:
    """The band code of a score (for colouring heat-map cells); ``none`` without one."""
    if value is None:
        return "none"
    for bound, code in bands:
        if scoring.at_least(value, bound):  # exact decimals, as scoring.band
            return code
    return "needs_improvement"


# --- report (PDF) charts --------------------------------------------------------------------

BRAND, BRAND_2, GRID = PALETTE["brand"], PALETTE["brand-2"], PALETTE["line"]
SERIES = (PALETTE["brand"], PALETTE["series-2"], PALETTE["series-3"])
FONT = "font-family=\"Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif\""


def _t(x: float, y: float, text: str, *, size: float = 9, anchor: str = "middle",
       fill: str = MUTED, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}" {FONT}>{escape(text)}</text>'
    )


def _wrap(text: str, width: int) -> list[str]:
    """Split a label into lines of about ``width`` characters at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _svg(width: float, height: float, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _scale(lo: float, hi: float, top: float, bottom: float):
    def y(value: float) -> float:
        return bottom - (value - lo) / (hi - lo) * (bottom - top)

    return y


def _range(values: Sequence[float]) -> tuple[float, float]:
    """A 0–100 score axis, zoomed to tens around the data so changes are visible."""
    if not values:
        return 0.0, 100.0
    lo = max(0.0, (min(values) // 10) * 10 - 10)
    hi = min(100.0, (max(values) // 10) * 10 + 10)
    if hi - lo < 20:
        lo, hi = max(0.0, hi - 20), max(20.0, hi)
    return lo, hi


def trend_chart(
    series: Sequence[tuple], title: str,
    *, width: float = 480, height: float = 170, bands: Sequence[tuple[float, str]] = (),
) -> Markup:
    """A line of BDI per month; gaps where a month has no value; values labelled. A month
    may carry its 90 % interval as a third element: drawn as a whisker."""
    left, right, top, bottom = 34.0, width - 12, 14.0, height - 26
    spans = [_interval_of(point) for point in series]
    values = [point[1] for point in series if point[1] is not None]
    values += [v for span in spans if span is not None for v in (span.low, span.high)]
    lo, hi = _range(values)
    y = _scale(lo, hi, top, bottom)
    n = max(len(series), 1)
    step = (right - left) / max(n - 1, 1)
    body = []
    for tick in range(int(lo), int(hi) + 1, 10):
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                    f'stroke="{GRID}" stroke-width="0.6"/>')
        body.append(_t(left - 5, y(tick) + 3, str(tick), anchor="end", size=8))
    for bound, code in bands:
        if lo < bound < hi:
            body.append(
                f'<line x1="{left}" x2="{right}" y1="{y(bound):.1f}" y2="{y(bound):.1f}" '
                f'stroke="{BAND_COLOURS.get(code, MUTED)}" stroke-width="0.8" '
                f'stroke-dasharray="3 3"/>'
            )
    for i, span in enumerate(spans):
        if span is not None:
            body.append(_whisker(left + i * step, y(span.low), y(span.high), 2.5, 1.0))
    points: list[list[tuple[float, float, float]]] = [[]]
    for i, (label, value, *_span) in enumerate(series):
        x = left + i * step
        short = label[2:] if len(label) == 7 else label  # 2026-05 → 26-05
        body.append(_t(x, height - 10, short, size=7.5))
        if value is None:
            points.append([])
        else:
            points[-1].append((x, y(value), value))
    for run in points:
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{py:.1f}" for x, py, _ in run)
            body.append(f'<polyline points="{path}" fill="none" stroke="{BRAND_2}" '
                        f'stroke-width="2"/>')
        for x, py, value in run:
            body.append(f'<circle cx="{x:.1f}" cy="{py:.1f}" r="2.8" fill="{BRAND}"/>')
            body.append(_t(x, py - 6, fmt_score(value), size=7.5, fill=BRAND))
    if not values:
        body.append(_t(width / 2, height / 2, "–", size=14))
    return _svg(width, height, body, title)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    *, width: float = 480, height: float = 190,
) -> Markup:
    """Vertical bars per category, one colour per series (e.g. store, region, brand),
    with a legend; values printed above the bars."""
    left, right, top, bottom = 30.0, width - 8, 26.0, height - 34
    y = _scale(0, 100, top, bottom)
    body = []
    for tick in range(0, 101, 25):
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                    f'stroke="{GRID}" stroke-width="0.6"/>')
        body.append(_t(left - 4, y(tick) + 3, str(tick), anchor="end", size=7.5))
    group_w = (right - left) / max(len(categories), 1)
    bar_w = min(22.0, (group_w - 10) / max(len(series), 1))
    for ci, category in enumerate(categories):
        gx = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, (_, values) in enumerate(series):
            value = values[ci] if ci < len(values) else None
            x = gx + si * bar_w
            if value is None:
                body.append(_t(x + bar_w / 2, bottom - 3, "–", size=7))
                continue
            body.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar_w - 1.5:.1f}" '
                f'height="{bottom - y(value):.1f}" fill="{SERIES[si % len(SERIES)]}"/>'
            )
            body.append(_t(x + bar_w / 2 - 0.75, y(value) - 2.5, fmt_score(value), size=6.5,
                           fill=MUTED))
        for li, line in enumerate(_wrap(category, max(6, int(group_w / 4.2)))[:2]):
            body.append(_t(left + ci * group_w + group_w / 2, height - 19 + li * 9, line,
                           size=7.5, fill=INK))
    lx = left
    for si, (name, _) in enumerate(series):
        body.append(f'<rect x="{lx:.1f}" y="6" width="9" height="9" '
                    f'fill="{SERIES[si % len(SERIES)]}"/>')
        body.append(_t(lx + 13, 14, name, size=8, anchor="start", fill=INK))
        lx += 13 + 6.5 * max(len(name), 4) + 14
    return _svg(width, height, body, title)


def band_bars(
    counts: Sequence[tuple[str, str, int]], title: str, *, width: float = 300,
    height: float = 120,
) -> Markup:
    """Horizontal bars: ``(band code, label, count)`` per band."""
    total = sum(c for _, _, c in counts) or 1
    label_w, row_h = 110.0, (height - 8) / max(len(counts), 1)
    bar_max = width - label_w - 60
    body = []
    for i, (code, label, count) in enumerate(counts):
        top = 4 + i * row_h
        w = bar_max * count / total
        body.append(_t(label_w - 6, top + row_h / 2 + 3, label, anchor="end", size=8.5,
                       fill=INK))
        body.append(f'<rect x="{label_w}" y="{top + 3:.1f}" width="{max(w, 0.5):.1f}" '
                    f'height="{row_h - 6:.1f}" fill="{BAND_COLOURS.get(code, MUTED)}"/>')
        pct = count / total * 100
        body.append(_t(label_w + w + 5, top + row_h / 2 + 3, f"{count} ({pct:.0f}%)",
                       anchor="start", size=8.5))
    return _svg(width, height, body, title)


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def heat_colour(value: float | None) -> str:
    """Background for a heat-map cell: red (low) through amber to green (high)."""
    if value is None:
        return "#eef1f4"
    stops = ((60.0, (243, 196, 191)), (75.0, (252, 230, 190)), (90.0, (200, 233, 206)),
             (100.0, (150, 208, 165)))
    if value <= stops[0][0]:
        return _hex(stops[0][1])
    for (v0, c0), (v1, c1) in zip(stops, stops[1:], strict=False):
        if value <= v1:
            f = (value - v0) / (v1 - v0)
            return _hex(a + (b - a) * f for a, b in zip(c0, c1, strict=True))
    return _hex(stops[-1][1])


# --- insights (auditapp/insights.py): pages and the brand summary PDF -----------------------

OK, BAD, WARN = PALETTE["ok"], PALETTE["bad"], PALETTE["warn"]


def _figure(svg: Markup, title: str, rows: Sequence[tuple[str, str]]) -> Markup:
    """A page chart: the picture and its figures, ``(label, text)``, as a table under a
    disclosure (its text alternative, as ``_figures``)."""
    cells = "".join(f'<tr><th scope="row">{escape(label)}</th>'
                    f'<td class="num">{escape(text)}</td></tr>' for label, text in rows)
    summary = gettext("Show the figures")
    return Markup(
        f'<figure class="chart-figure">{svg}<details class="chart-data"><summary>'
        f'{escape(summary)}</summary><table class="table"><caption>{escape(title)}</caption>'
        f"<tbody>{cells}</tbody></table></details></figure>"
    )


def coefficient_chart(
    rows: Sequence[tuple], *, title: str, width: float = 460, row_height: float = 26,
    figures: bool = True,
) -> Markup:
    """Horizontal bars of standardised coefficients with their 90 % interval as a whisker:
    ``(label, beta, low, high)`` per row; the axis spans the intervals and zero."""
    left = 12 + min(width * 0.5, max((_text_width(r[0], 10) for r in rows), default=40))
    right, top = width - 14, 8.0
    height = top + len(rows) * row_height + 22
    lows = [r[2] for r in rows] + [0.0]
    highs = [r[3] for r in rows] + [0.0]
    lo = math.floor(min(lows) * 10) / 10
    hi = math.ceil(max(highs) * 10) / 10
    if hi - lo < 0.2:
        hi = lo + 0.2

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    body = []
    step = 0.1 if hi - lo <= 0.8 else 0.2 if hi - lo <= 1.6 else 0.5
    tick = math.ceil(lo / step) * step
    while tick <= hi + 1e-9:
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" '
                    f'y2="{height - 18:.1f}" stroke="{GRID}" stroke-width="0.8"/>')
        body.append(_t(x(tick), height - 6, f"{tick:.1f}".replace("-0.0", "0.0"), size=9))
        tick += step
    body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{height - 18:.1f}" '
                f'stroke="{INK}" stroke-width="1"/>')
    for i, (label, beta, low, high, *_rest) in enumerate(rows):
        y0 = top + i * row_height
        mid = y0 + row_height / 2
        colour = ACCENT if beta >= 0 else BAD
        x0, x1 = sorted((x(0), x(beta)))
        body.append(_t(left - 6, mid + 4, label, size=10, anchor="end", fill=INK))
        body.append(f'<rect x="{x0:.1f}" y="{y0 + 6:.1f}" width="{max(x1 - x0, 0.8):.1f}" '
                    f'height="{row_height - 12:.1f}" fill="{colour}"/>')
        body.append(
            f'<g stroke="{INK}" stroke-width="1.2"><line x1="{x(low):.1f}" x2="{x(high):.1f}" '
            f'y1="{mid:.1f}" y2="{mid:.1f}"/><line x1="{x(low):.1f}" x2="{x(low):.1f}" '
            f'y1="{mid - 4:.1f}" y2="{mid + 4:.1f}"/><line x1="{x(high):.1f}" '
            f'x2="{x(high):.1f}" y1="{mid - 4:.1f}" y2="{mid + 4:.1f}"/></g>')
    svg = _svg(width, height, body, title)
    if not figures:
        return svg
    return _figure(svg, title, [(r[0], f"{r[1]:.2f} ({r[2]:.2f} – {r[3]:.2f})")
                                for r in rows])


def _ipa_label_place(x: float, y: float, w: float,
                     placed: list[tuple[float, float, float, float]], *,
                     inner_right: bool, bounds: tuple[float, float]) -> tuple[float, float, str]:
    """Where a point's label goes: beside the point towards the chart's middle, else the
    other side, else above or below (a little further if need be), the first place
    whose box meets no label or point already drawn (two dimensions close in importance
    and performance drew over each other) and stays inside the plot's ``bounds`` (left,
    right); in a crowd, the place that meets least. The chosen box is added to
    ``placed``."""
    side = [(-8.0, 4.0, "end"), (8.0, 4.0, "start")]
    if not inner_right:
        side.reverse()
    tries = side + [(0.0, -9.0, "middle"), (0.0, 17.0, "middle")] + [
        (dx, dy, anchor) for dy in (-9.0, 17.0, -20.0, 28.0) for dx, _dy, anchor in side]

    def box(dx: float, dy: float, anchor: str) -> tuple[float, float, float, float]:
        x0 = x + dx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
        return (x0, y + dy - 9, x0 + w, y + dy + 2)

    def overlap(b: tuple[float, float, float, float]) -> float:
        """Area shared with the labels drawn so far; outside the plot counts as shared."""
        area = sum(max(0.0, min(b[2], o[2]) - max(b[0], o[0]))
                   * max(0.0, min(b[3], o[3]) - max(b[1], o[1])) for o in placed)
        return area + 1000.0 * (max(0.0, bounds[0] - b[0]) + max(0.0, b[2] - bounds[1]))

    # the first place that meets nothing; in a crowd, the one that meets least
    choice = min(tries, key=lambda t: (overlap(box(*t)) > 0, overlap(box(*t))))
    placed.append(box(*choice))
    return x + choice[0], y + choice[1], choice[2]


def ipa_chart(
    points: Sequence[tuple], *, importance_cut: float, performance_cut: float,
    quadrant_labels: dict[str, str], title: str, x_label: str, y_label: str,
    width: float = 440, height: float = 300, figures: bool = True,
) -> Markup:
    """The importance–performance matrix: ``(label, importance, performance, quadrant)``
    per point; cut lines at ``importance_cut`` (x) and ``performance_cut`` (y); the four
    quadrants named in their corners (``quadrant_labels`` by quadrant code)."""
    left, right, top, bottom = 40.0, width - 10, 10.0, height - 34
    xs = [p[1] for p in points] + [importance_cut, 0.0]
    ys = [p[2] for p in points] + [performance_cut]
    x_lo, x_hi = min(xs), max(xs)
    pad = max((x_hi - x_lo) * 0.12, 0.05)
    x_lo, x_hi = x_lo - pad, x_hi + pad
    y_lo = max(0.0, math.floor(min(ys) / 5) * 5 - 5)
    y_hi = min(100.0, math.ceil(max(ys) / 5) * 5 + 5)
    if y_hi - y_lo < 10:
        y_lo, y_hi = max(0.0, y_hi - 10), max(10.0, y_hi)

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * (right - left)

    def py(v: float) -> float:
        return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top)

    cx, cy = px(importance_cut), py(performance_cut)
    body = [
        f'<rect x="{cx:.1f}" y="{cy:.1f}" width="{right - cx:.1f}" height="{bottom - cy:.1f}" '
        f'fill="{BAD}" fill-opacity="0.08"/>',
        f'<rect x="{left}" y="{top}" width="{right - left:.1f}" height="{bottom - top:.1f}" '
        f'fill="none" stroke="{GRID}"/>',
        f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top}" y2="{bottom}" stroke="{MUTED}" '
        f'stroke-dasharray="4 3"/>',
        f'<line x1="{left}" x2="{right}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{MUTED}" '
        f'stroke-dasharray="4 3"/>',
        _t(right - 4, top + 12, quadrant_labels["keep_up"], anchor="end", size=9, fill=OK),
        _t(right - 4, bottom - 5, quadrant_labels["concentrate"], anchor="end", size=9,
           fill=BAD, weight="bold"),
        _t(left + 4, bottom - 5, quadrant_labels["low_priority"], anchor="start", size=9),
        _t(left + 4, top + 12, quadrant_labels["overkill"], anchor="start", size=9,
           fill=WARN),
        _t((left + right) / 2, height - 6, x_label, size=10, fill=INK),
        f'<text x="12" y="{(top + bottom) / 2:.1f}" font-size="10" fill="{INK}" '
        f'text-anchor="middle" transform="rotate(-90 12 {(top + bottom) / 2:.1f})" '
        f'{FONT}>{escape(y_label)}</text>',
        _t(left - 4, bottom + 3, f"{y_lo:.0f}", anchor="end", size=8),
        _t(left - 4, top + 8, f"{y_hi:.0f}", anchor="end", size=8),
    ]
    # boxes to keep labels off: every point, then each label as it is placed
    placed = [(px(p[1]) - 5, py(p[2]) - 5, px(p[1]) + 5, py(p[2]) + 5) for p in points]
    for label, importance, performance, code, *_rest in points:
        colour = BAD if code == "concentrate" else OK if code == "keep_up" else BRAND_2
        x, y = px(importance), py(performance)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>')
        tx, ty, anchor = _ipa_label_place(x, y, _text_width(label, 10), placed,
                                          inner_right=x > (left + right) / 2,
                                          bounds=(left, right))
        body.append(_t(tx, ty, label, anchor=anchor, size=10, fill=INK))
    svg = _svg(width, height, body, title)
    if not figures:
        return svg
    return _figure(svg, title, [
        (p[0], f"{p[1]:.2f} × {p[2]:.1f} · {quadrant_labels[p[3]]}") for p in points])
