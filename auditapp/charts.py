"""Small inline SVG charts for pages and PDFs: pure functions returning SVG markup.

No scripts and no inline ``style`` attributes (the CSP forbids them): colours come from
SVG presentation attributes. Each chart has a ``<title>`` (read out as its alt text).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

#: Colours of the BDI bands (the same as ``static/css/app.css``).
BAND_COLOURS = {
    "excellent": "#1d7a46",
    "good": "#3c8d2f",
    "fair": "#b26b00",
    "needs_improvement": "#b3261e",
}
INK, MUTED, LINE, ACCENT = "#1b2430", "#5d6b7a", "#dde3ea", "#1f5fa0"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text_width(text: str, size: float) -> float:
    """Rough width of a label in px: CJK characters are about twice as wide as Latin."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


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
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    width: int = 600,
    height: int = 220,
    low: float | None = None,
    high: float = 100.0,
    guides: Sequence[float] = (70.0, 80.0, 90.0),
) -> Markup:
    """A line over labelled points (e.g. months → BDI); None leaves a gap."""
    left, right, top, bottom = 36, 28, 12, 28
    values = [v for _, v in points if v is not None]
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
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, (label, value) in enumerate(points):
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
    for index, (label, value) in enumerate(points):
        if value is not None:
            px, py = xy(index, value)
            parts.append(
                f'<circle cx="{_num(px)}" cy="{_num(py)}" r="3.5" fill="{ACCENT}">'
                f"<title>{escape(label)}: {escape(_num(value))}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def band_of(value: float | None, bands: Sequence[tuple[float, str]]) -> str:
    """The band code of a score (for colouring heat-map cells); ``none`` without one."""
    if value is None:
        return "none"
    for bound, code in bands:
        if value >= bound:
            return code
    return "needs_improvement"
