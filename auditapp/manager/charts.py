"""Tiny inline SVG charts drawn by the app (no JavaScript, no CDN), safe under the CSP."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from ..scoring import fmt_score


def line_chart(
    series: Sequence[tuple[str, float | None]],
    *,
    title: str,
    width: int = 320,
    height: int = 110,
    low: float = 50.0,
    high: float = 100.0,
) -> Markup:
    """A small line chart of ``(label, value)`` points on a fixed 0–100-style scale.

    Missing values break the line; each point carries a ``<title>`` tooltip. The y range
    widens to fit values outside ``low``…``high``.
    """
    values = [v for _, v in series if v is not None]
    if values:
        low = min(low, 10 * int(min(values) // 10))
        high = max(high, max(values))
    pad_l, pad_r, pad_t, pad_b = 30, 8, 8, 20
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(series), 1)

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - (v - low) / ((high - low) or 1))

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (low, (low + high) / 2, high):
        ty = y(tick)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="#dde3ea" stroke-width="1"/>'
            f'<text x="{pad_l - 4}" y="{ty + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#5d6b7a">{tick:.0f}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value) in enumerate(series):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1f5fa0" '
                f'stroke-width="2" stroke-linejoin="round"/>'
            )
    for i, (label, value) in enumerate(series):
        if value is None:
            continue
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="#1f5fa0">'
            f"<title>{escape(label)}: {fmt_score(value)}</title></circle>"
        )
    if series:
        for i in (0, len(series) - 1):
            anchor = "start" if i == 0 else "end"
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 4}" font-size="10" text-anchor="{anchor}" '
                f'fill="#5d6b7a">{escape(series[i][0])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
