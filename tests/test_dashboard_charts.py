"""The inline SVG chart helpers: valid markup, escaped labels, no inline styles."""

from __future__ import annotations

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
