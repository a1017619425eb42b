"""SCORING.md §10 as users see it: n visits, the 90 % interval, the band as confirmed or
provisional and "no clear change", on the dashboard, store page, PDF, export, API and CLI,
in English and Chinese."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import CompetitorStore

from .conftest import browser_login, fits_viewport, screenshot
from .factories import make_visit

SHOTS = os.environ.get("AUDITAPP_REPORT_SHOTS")  # keep the PDFs to look at them


def _language(client, locale: str) -> None:
    """Switch the language as the page's language switcher does."""
    client.post(f"/auth/language/{locale}")


@pytest.fixture
def months(chain):
    """E001: one mystery shop in April (100) and one in May (80), no QA: with σ = 15 (too
    few visits to pool), e = 15·0.6/0.75 = 12 a month, so the May BDI 84 has the interval
    64.3–100 (Needs improvement–Excellent, provisional) and −16 is no clear change
    (|Δ| ≤ 1.645·√(12² + 12²) = 27.9). E002: a QA audit only (exact): confirmed band."""
    e001, e002 = chain.stores[0], chain.stores[1]
    make_visit(chain, e001, visit_date=date(2026, 4, 8))
    make_visit(chain, e001, visit_date=date(2026, 5, 8), values={"clean_restroom": 0})
    make_visit(chain, e002, kind="qa", visit_date=date(2026, 5, 12))
    return e001, e002


def _cell_text(html: str, code: str) -> str:
    start = html.index(f'<tr data-store="{code}">')
    return html[start:html.index("</tr>", start)]


def test_dashboard_shows_interval_provisional_band_and_no_clear_change(client, auth, chain,
                                                                       months):
    auth.login("hq@example.com")
    html = client.get("/hq/?month=2026-05").get_data(as_text=True)
    row = _cell_text(html, "E001")
    assert "84.0" in row and "(64–100, n=1)" in row
    assert "Needs improvement–Excellent" in row and "provisional" in row
    assert "no clear change" in row and "trend down" not in row
    qa_only = _cell_text(html, "E002")
    assert "confirmed" in qa_only and "provisional" not in qa_only
    assert "n=0" in qa_only  # no mystery shop: the BDI rests on QA and HL, exact
    # the brand's interval and visit count on the headline card, whiskers on the chart
    assert "1 mystery-shop visit" in html and 'class="interval"' in html
    assert '<g class="interval"' in html

    store = client.get(f"/hq/stores/{months[0].id}?month=2026-05").get_data(as_text=True)
    assert "(64–100, n=1)" in store and "no clear change" in store


def test_dashboard_in_chinese(client, auth, chain, months):
    auth.login("hq@example.com")
    _language(client, "zh_CN")
    zh = client.get("/hq/?month=2026-05").get_data(as_text=True)
    row = _cell_text(zh, "E001")
    assert "（64–100，n=1）" in row and "待改进至优秀" in row and "暂定" in row
    assert "无明显变化" in row
    assert "已确认" in _cell_text(zh, "E002")
    assert "1 次神秘顾客访店" in zh


def test_significant_change_keeps_its_arrow(client, auth, chain, months):
    """E002's QA-only BDI is exact in both months: a change of a few points is significant."""
    make_visit(chain, chain.stores[1], kind="qa", visit_date=date(2026, 4, 12),
               values={"qa_taste": 0})
    auth.login("hq@example.com")
    row = _cell_text(client.get("/hq/?month=2026-05").get_data(as_text=True), "E002")
    assert "trend up" in row and "no clear change" not in row


def test_api_cli_and_export_carry_n_interval_and_bands(client, auth, chain, months, runner):
    auth.login("hq@example.com")
    api = client.get("/api/hq/bdi?month=2026-05&by=store").get_json()
    e001 = next(s for s in api["stores"] if s["code"] == "E001")
    assert e001["visits"] == 1 and e001["bands"] == [
        "needs_improvement", "fair", "good", "excellent"]
    assert e001["band_confirmed"] is False
    assert e001["interval"] == [pytest.approx(84 - 1.645 * 12), 100.0]
    regions = client.get("/api/hq/bdi?month=2026-05&by=region").get_json()["regions"]
    east = next(r for r in regions if r["name"].startswith("East"))
    # two stores, e = 12 and 0: ± 1.645·√(144 + 0)/2 = ± 9.87; April → May not significant
    assert east["interval"] == [pytest.approx(east["bdi"] - 9.87), pytest.approx(
        min(100.0, east["bdi"] + 9.87))]
    assert east["change_significant"] is False

    cli = runner.invoke(args=["bdi", "--month", "2026-05"])
    assert cli.exit_code == 0, cli.output
    line = next(x for x in cli.output.splitlines() if " E001 " in x)
    assert "64–100" in line and "Needs improvement–Excellent, provisional" in line

    with client.get("/hq/reports/export/scores.csv?month=2026-05") as response:
        text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = {r["Store code"]: r for r in csv.DictReader(io.StringIO(text))}
    e001 = rows["E001"]
    assert e001["BDI interval low (90 %)"] == "64.3"
    assert e001["BDI interval high (90 %)"] == "100.0"
    assert e001["Band status"] == "provisional"
    assert e001["Clear change"] == "No"
    assert rows["E002"]["Band status"] == "confirmed"
    assert json.loads(json.dumps(api))  # plain JSON


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("locale", ["en", "zh_CN"], ids=["en", "zh"])
def test_store_pdf_shows_interval_and_band_status(client, auth, chain, months, locale):
    auth.login("hq@example.com")
    _language(client, locale)
    url = f"/hq/reports/stores/{months[0].id}.pdf?month=2026-05"
    with client.get(url) as response:
        assert response.status_code == 200
        data = response.get_data()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        Path(SHOTS, f"store-month-{locale}.pdf").write_bytes(data)
    text = _pdf_text(data)
    if locale == "zh_CN":
        assert "64–100" in text and "暂定" in text and "无明显变化" in text
    else:
        assert "(64–100, n=1)" in text and "provisional" in text
        assert "no clear change" in text


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_dashboard_with_intervals_fits_a_phone(app, load_dataset, live_server, phone, tmp_path,
                                               locale):
    load_dataset("demo-3-months")
    browser_login(phone, live_server, "hq@example.com", DEMO_PASSWORD)
    phone.request.post(f"{live_server}/auth/language/{locale}")
    phone.goto(f"{live_server}/hq/?month=2026-10")
    assert phone.locator("#brand-bdi .interval").is_visible()
    assert phone.locator("table.ranking .interval").count() > 0
    assert phone.locator("svg.line-chart g.interval").count() > 0
    assert fits_viewport(phone), "dashboard wider than the phone screen"
    screenshot(phone, tmp_path=tmp_path, name=f"hq-dashboard-intervals-{locale}")


def test_competitor_figure_carries_its_interval(client, auth, chain, months):
    """A competitor mean from one visit: ± 1.645·σ/√1 with σ = 15 (too few visits to pool)."""
    comp = CompetitorStore(competitor="Rival Burger", name="Rival Nanjing Rd",
                           region=chain.regions[0])
    db.session.add(comp)
    rival = make_visit(chain, chain.stores[0], kind="competitor", visit_date=date(2026, 5, 9),
                       values={"clean_restroom": 0})
    rival.store_id, rival.competitor = None, comp
    db.session.commit()
    auth.login("hq@example.com")
    api = client.get("/api/hq/dimensions?month=2026-05").get_json()
    (rival_json,) = api["competitors"]
    assert rival_json["visits"] == 1 and rival_json["score"] == pytest.approx(80.0)
    assert rival_json["interval"] == [pytest.approx(80 - 1.645 * 15), 100.0]
    html = client.get("/hq/competitors?month=2026-05").get_data(as_text=True)
    assert "Rival Burger: 80.0" in html and "(55–100, n=1)" in html
