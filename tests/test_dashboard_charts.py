"""The inline SVG chart helpers: valid markup, escaped labels, no inline styles."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from auditapp import charts, scoring


def test_bar_chart_escapes_labels_and_scales_bars():
    svg = charts.bar_chart([("A&B <x>", 10, "#123456"), ("店", 5, "#654321")], title="T")
    root = ElementTree.fromstring(str(svg))
    widths = [float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[0] == 2 * widths[1]
    assert "A&amp;B &lt;x&gt;" in svg and "style=" not in svg and "<script" not in svg


def test_line_chart_leaves_gaps_for_missing_months():
    points = [("2026-01", 80.0), ("2026-02", None), ("2026-03", 90.0), ("2026-04", 85.0)]
    svg = str(charts.line_chart(points, title="BDI"))
    root = ElementTree.fromstring(svg)
    lines = list(root.iter("{http://www.w3.org/2000/svg}polyline"))
    assert [len(p.get("points").split()) for p in lines] == [1, 2]
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 3
    assert "2026-04" in svg
    assert ElementTree.fromstring(str(charts.line_chart([], title="empty"))) is not None


def test_band_of():
    bands = ((90.0, "excellent"), (80.0, "good"), (70.0, "fair"))
    assert [charts.band_of(v, bands) for v in (95, 80, 70, 10, None)] == [
        "excellent", "good", "fair", "needs_improvement", "none"]


def test_one_palette_for_pages_pdfs_and_charts(client):
    """The band colours are written once, in static/css/palette.css: pages link it, the PDF
    stylesheet imports it and the charts (page and PDF) read their colours from it."""
    root = Path(charts.__file__).resolve().parent.parent
    assert charts.BAND_COLOURS == {"excellent": "#1d7a46", "good": "#377a25",
                                   "fair": "#9c5d00", "needs_improvement": "#b3261e"}
    svg = str(charts.band_bars([("fair", "Fair", 2)], "Bands"))
    assert 'fill="#9c5d00"' in svg
    written = {
        str(path.relative_to(root))
        for folder in ("auditapp", "static", "templates")
        for path in (root / folder).rglob("*")
        if path.suffix in {".py", ".css", ".html", ".js"}
        and any(colour in path.read_text(encoding="utf-8").lower()
                for colour in charts.BAND_COLOURS.values())
    }
    assert written == {"static/css/palette.css"}
    assert '@import url("palette.css")' in (root / "static/css/print.css").read_text()
    page = client.get("/auth/login").get_data(as_text=True)
    assert "/static/css/palette.css" in page


def _contrast(a: str, b: str) -> float:
    def lum(h: str) -> float:
        rgb = [int(h.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palette_meets_wcag_contrast():
    """Issue #23: white text on a band colour (chips, heat-map cells) and on the primary
    button ≥ 4.5:1; muted, warning and error text ≥ 4.5:1 on cards and the page; the focus
    ring and field borders ≥ 3:1 next to them (WCAG 1.4.3, 1.4.11)."""
    p = charts.PALETTE
    for name in ("excellent", "good", "fair", "needs_improvement", "brand-2", "muted"):
        assert _contrast("#ffffff", p[name]) >= 4.5, name
    for name in ("muted", "warn", "bad", "ok", "brand-2"):
        for ground in ("card", "bg"):
            colour = "#ffffff" if p[ground] == "#fff" else p[ground]
            assert _contrast(p[name], colour) >= 4.5, (name, ground)
    for name in ("focus", "field"):
        assert _contrast(p[name], "#ffffff") >= 3 and _contrast(p[name], p["bg"]) >= 3, name


def test_page_charts_carry_their_figures_as_a_table(app):
    """A chart's text alternative: its figures in a table next to the picture."""
    with app.test_request_context():
        html = str(charts.line_chart([("2026-01", 81.5), ("2026-02", None)], title="BDI"))
    root = ElementTree.fromstring(html)
    rows = [[c.text for c in tr] for tr in root.iter("tr")]
    assert rows == [["2026-01", "81.5"], ["2026-02", "–"]]
    assert root.find("details/table/caption").text == "BDI"
    # a point's 90 % interval (its whisker) is in the table too, rounded outwards
    with app.test_request_context():
        html = str(charts.line_chart([("2026-03", 82.4, scoring.Interval(74.2, 90.6))],
                                     title="BDI"))
    rows = [[c.text for c in tr] for tr in ElementTree.fromstring(html).iter("tr")]
    assert rows == [["2026-03", "82.4 (74–91)"]]
