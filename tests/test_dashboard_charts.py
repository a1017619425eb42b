"""The inline SVG chart helpers: valid markup, escaped labels, no inline styles."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from auditapp import charts


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
    assert charts.BAND_COLOURS == {"excellent": "#1d7a46", "good": "#3c8d2f",
                                   "fair": "#b26b00", "needs_improvement": "#b3261e"}
    svg = str(charts.band_bars([("fair", "Fair", 2)], "Bands"))
    assert 'fill="#b26b00"' in svg
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
