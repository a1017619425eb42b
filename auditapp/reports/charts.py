"""SVG charts for the PDF reports: pure functions from numbers to SVG markup.

The output is a string of trusted markup (labels are escaped here), embedded inline in
the report so WeasyPrint draws it as vectors. Colours follow ``static/css/app.css``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from ..scoring import fmt_score

BRAND = "#12355b"
BRAND_2 = "#1f5fa0"
MUTED = "#5d6b7a"
GRID = "#dde3ea"
SERIES = ("#12355b", "#7fb0e6", "#b8c2cc")
BAND_COLOURS = {
    "excellent": "#1d7a46",
    "good": "#3c8d2f",
    "fair": "#b26b00",
    "needs_improvement": "#b3261e",
}
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
    series: Sequence[tuple[str, float | None]], title: str,
    *, width: float = 480, height: float = 170, bands: Sequence[tuple[float, str]] = (),
) -> Markup:
    """A line of BDI per month; gaps where a month has no value; values labelled."""
    left, right, top, bottom = 34.0, width - 12, 14.0, height - 26
    values = [v for _, v in series if v is not None]
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
    points: list[list[tuple[float, float, float]]] = [[]]
    for i, (label, value) in enumerate(series):
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
                           size=7.5, fill="#1b2430"))
    lx = left
    for si, (name, _) in enumerate(series):
        body.append(f'<rect x="{lx:.1f}" y="6" width="9" height="9" '
                    f'fill="{SERIES[si % len(SERIES)]}"/>')
        body.append(_t(lx + 13, 14, name, size=8, anchor="start", fill="#1b2430"))
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
                       fill="#1b2430"))
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
