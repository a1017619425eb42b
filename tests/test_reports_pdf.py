"""PDF reports: visit, store month and brand summary, as HQ and managers download them."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from auditapp import analytics, storage
from auditapp.extensions import db
from auditapp.models import CompetitorStore, CorrectiveAction, Photo, Visit
from auditapp.models.visit import COMPETITOR, SUBMITTED
from auditapp.scoring import fmt_score
from auditapp.visits import new_access_token, score_and_store

from .factories import answer_all, make_complaint, make_visit
from .manager_helpers import make_area_manager

SHOTS = os.environ.get("AUDITAPP_REPORT_SHOTS")  # e.g. /tmp/reports-shots: keep the PDFs


def pdf_text(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def font_names(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def get_pdf(client, url: str, name: str | None = None) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200, (url, response.status_code)
        assert response.mimetype == "application/pdf"
        data = response.get_data()
    assert data.startswith(b"%PDF")
    if SHOTS and name:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        Path(SHOTS, name).write_bytes(data)
    return data


def status(client, url: str) -> int:
    with client.get(url) as response:
        return response.status_code


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 60, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def month_data(chain):
    """May 2026 (and April for trends): visits, a QA audit, complaints, a corrective
    action, a competitor visit and a photo."""
    s0, s1, s2, _s3 = chain.stores
    april = date(2026, 4, 12)
    make_visit(chain, s0, visit_date=april, default=None)
    make_visit(chain, s1, visit_date=april, values={"courtesy_smile": 0})
    v0 = make_visit(
        chain, s0, visit_type="drive_thru", values={
            "speed_total": 240, "courtesy_smile": 0, "accuracy_complete": 0,
            "courtesy_satisfaction": 30, "speed_satisfaction": -30,
        },
    )
    v0.overall_comment = "Crew busy; <b>fries</b> cold & late"
    v0.arrival_time = datetime(2026, 5, 10, 12, 5).time()
    a = next(x for x in v0.answers if x.item.code == "courtesy_smile")
    a.comment = "No eye contact at the counter"
    key = storage.new_key("photos", ".png")
    storage.save(key, png_bytes())
    db.session.add(Photo(visit=v0, storage_key=key, category="food", content_type="image/png"))
    db.session.add(CorrectiveAction(visit=v0, answer=a, action="Retrain counter crew on greeting",
                                    owner="Shift lead", due_date=date(2026, 6, 1)))
    db.session.commit()
    v1 = make_visit(chain, s1, values={"courtesy_smile": 0})
    make_visit(chain, s2, values={"speed_total": 400})
    make_visit(chain, s0, kind="qa", visit_date=date(2026, 5, 12))
    make_visit(chain, s0, status=SUBMITTED, visit_date=date(2026, 5, 20))
    make_complaint(s0, datetime(2026, 5, 3, 10), "major", resolved_after_hours=24)
    make_complaint(s0, datetime(2026, 5, 4, 10), "minor")
    rival = CompetitorStore(competitor="Rival Burger", name="Rival Nanjing Rd",
                            region=chain.regions[0])
    db.session.add(rival)
    cv = Visit(kind=COMPETITOR, competitor=rival, evaluator=chain.shoppers[1],
               questionnaire=chain.ms_q, month="2026-05", visit_type="walk_in",
               status="released", visit_date=date(2026, 5, 15),
               access_token=new_access_token())
    db.session.add(cv)
    answer_all(cv, {"courtesy_smile": 0, "speed_total": 200})
    score_and_store(cv)
    db.session.commit()
    return {"visit": v0, "other": v1, "competitor": cv}


def test_hq_visit_pdf(client, auth, chain, month_data):
    visit = month_data["visit"]
    auth.login("hq@example.com")
    data = get_pdf(client, f"/hq/reports/visits/{visit.id}.pdf", "visit-hq.pdf")
    text, pages = pdf_text(data)
    assert "上海南京西路店" in text
    assert fmt_score(visit.score) in text
    for ds in visit.dimension_scores:
        assert fmt_score(ds.score) in text
    assert "Somewhat satisfied (+30)" in text  # CSM level label of a scale7 answer
    assert "240 s" in text  # timed answer in seconds
    assert "No eye contact at the counter" in text
    assert "fries" in text and "<b>" in text  # user text shown escaped, as text
    assert "MS-101" in text  # HQ sees the pseudonym
    assert f"Page 1 of {pages}" in text
    # a competitor benchmark visit has no store
    data = get_pdf(client, f"/hq/reports/visits/{month_data['competitor'].id}.pdf")
    text, _ = pdf_text(data)
    assert "Rival Burger" in text and fmt_score(month_data["competitor"].score) in text


def test_manager_visit_pdf_has_no_shopper_identity(client, auth, chain, month_data):
    visit = month_data["visit"]
    auth.login("m.e001@example.com")
    data = get_pdf(client, f"/manager/reports/visits/{visit.id}.pdf", "visit-manager.pdf")
    text, _ = pdf_text(data)
    assert "上海南京西路店" in text and fmt_score(visit.score) in text
    for secret in ("MS-101", "Alice Shopper", "Alice", "Shopper (HQ only)"):
        assert secret not in text
    # other stores' and unreleased visits are not found
    assert status(client, f"/manager/reports/visits/{month_data['other'].id}.pdf") == 404
    pending = db.session.scalars(
        db.select(Visit).where(Visit.status == SUBMITTED)
    ).first()
    assert status(client, f"/manager/reports/visits/{pending.id}.pdf") == 404
    assert status(client, f"/manager/reports/stores/{chain.stores[1].id}.pdf?month=2026-05") == 404
    assert status(client, f"/hq/reports/visits/{visit.id}.pdf") == 403


def test_area_manager_pdfs_cover_their_region_without_shopper_identity(client, auth, chain,
                                                                        month_data):
    make_area_manager("area.east@example.com", chain.regions[0])
    auth.login("area.east@example.com")
    for url in (f"/manager/reports/visits/{month_data['visit'].id}.pdf",
                f"/manager/reports/visits/{month_data['other'].id}.pdf",  # E002, same region
                f"/manager/reports/stores/{chain.stores[1].id}.pdf?month=2026-05"):
        text, _ = pdf_text(get_pdf(client, url))
        for secret in ("MS-101", "MS-102", "Alice Shopper", "Alice", "Shopper (HQ only)"):
            assert secret not in text, (url, secret)
    # another region's store, a competitor visit and an unreleased visit are not found
    assert status(client, f"/manager/reports/stores/{chain.stores[2].id}.pdf?month=2026-05") == 404
    assert status(client, f"/manager/reports/visits/{month_data['competitor'].id}.pdf") == 404
    pending = db.session.scalars(db.select(Visit).where(Visit.status == SUBMITTED)).first()
    assert status(client, f"/manager/reports/visits/{pending.id}.pdf") == 404


def test_store_month_pdf(client, auth, chain, month_data):
    store = chain.stores[0]
    period = analytics.Period.month("2026-05")
    score = analytics.store_score(store.id, period)
    auth.login("m.e001@example.com")
    data = get_pdf(client, f"/manager/reports/stores/{store.id}.pdf?month=2026-05",
                   "store-month.pdf")
    text, pages = pdf_text(data)
    assert "上海南京西路店" in text
    for value in (score.bdi, score.ms, score.qa, score.hl):
        assert fmt_score(value) in text
    assert "Retrain counter crew on greeting" in text  # open corrective action
    # Chinese text is drawn with an embedded CJK font (no empty boxes)
    assert any("Noto-Sans-CJK-SC" in f or "WenQuanYi" in f for f in font_names(data))
    assert "No eye contact at the counter" in text  # failed item
    assert "MS-101" not in text and "Alice" not in text
    assert f"Page {pages} of {pages}" in text
    auth.logout()
    auth.login("hq@example.com")
    assert status(client, f"/hq/reports/stores/{store.id}.pdf?month=2026-13") == 400


def test_brand_summary_pdf(client, auth, chain, month_data):
    period = analytics.Period.month("2026-05")
    brand = analytics.brand_score(period)
    stores = analytics.store_scores(period, with_trend=True)
    auth.login("hq@example.com")
    data = get_pdf(client, "/hq/reports/brand.pdf?month=2026-05", "brand.pdf")
    text, pages = pdf_text(data)
    assert "Test Burger" in text
    assert fmt_score(brand.bdi) in text
    for s in stores:
        assert s.name in text
        if s.bdi is not None:
            assert fmt_score(s.bdi) in text
    assert "Rival Burger" in text
    assert fmt_score(month_data["competitor"].score) in text
    sat = analytics.satisfaction(period)
    assert fmt_score(sat.rate) in text
    assert f"Page 1 of {pages}" in text
    # one region
    region = chain.regions[1]
    data = get_pdf(client, f"/hq/reports/brand.pdf?month=2026-05&region={region.id}",
                   "brand-region.pdf")
    text, _ = pdf_text(data)
    assert "北京王府井店" in text and "上海南京西路店" not in text
    assert status(client, "/hq/reports/brand.pdf?month=2026-05&region=999") == 404


def word_boxes(path: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (poppler's ``pdftotext -bbox``), without the
    1 pt hidden strings of the running header and footer."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'
    return [[(float(a), float(b), float(c), float(d), w)
             for a, b, c, d, w in re.findall(pattern, page) if float(d) - float(b) > 3]
            for page in out.split("<page ")[1:]]


def overlapping_words(words) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other: on one line and sharing more than 0.5 pt."""
    pairs = []
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            on_one_line = (min(a[3], b[3]) - max(a[1], b[1])
                           > 0.5 * min(a[3] - a[1], b[3] - b[1]))
            if on_one_line and min(a[2], b[2]) - max(a[0], b[0]) > 0.5:
                pairs.append((a[4], b[4]))
    return pairs


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_brand_ranking_columns_do_not_overlap(app, chain, month_data, tmp_path, locale):
    """The ranking's BDI interval ("(80–100, n=1)") and provisional band range
    ("Good–Excellent*" / "良好至优秀*") stay in their own columns, and the Chinese headers
    (神秘顾客访店, 品质稽核) do not run into each other."""
    out = tmp_path / "brand.pdf"
    result = app.test_cli_runner().invoke(args=["reports", "brand", "--month", "2026-05",
                                                "-o", str(out), "--locale", locale])
    assert result.exit_code == 0, result.output
    pages = word_boxes(out)
    heading = "Store ranking" if locale == "en" else "门店排名"
    first = next(i for i, page in enumerate(pages)
                 if heading in " ".join(w[4] for w in page))
    ranking = [w for page in pages[first:] for w in page]
    texts = {w[4] for w in ranking}
    assert any(t.endswith("*") for t in texts)  # a provisional band range is listed
    assert any(t.startswith("n=") for t in texts)
    for page in pages[first:]:
        assert overlapping_words(page) == []
    if locale == "zh_CN":
        assert "品质稽核" in texts and not any("访店品质" in t for t in texts)


def test_reports_pages(client, auth, chain, month_data):
    auth.login("hq@example.com")
    page = client.get("/hq/reports?month=2026-05").get_data(as_text=True)
    assert "Brand summary" in page and 'href="/hq/reports"' in page
    bad = client.get("/hq/reports?month=2026-5x").get_data(as_text=True)
    assert "YYYY-MM" in bad and 'value="2026-5x"' in bad
    with client.get(f"/hq/reports/store?store={chain.stores[0].id}&month=2026-05") as r:
        assert r.status_code == 302 and "/hq/reports/stores/" in r.location
    auth.logout()
    auth.login("m.e001@example.com")
    page = client.get("/manager/reports?month=2026-05").get_data(as_text=True)
    assert "上海南京西路店" in page and 'href="/manager/reports"' in page
    assert f"/manager/reports/visits/{month_data['visit'].id}.pdf" in page
    assert "MS-101" not in page
    assert status(client, "/hq/reports") == 403


def test_long_brand_summary_is_rendered_in_parts_and_numbered(client, auth, chain, month_data,
                                                             monkeypatch):
    """A long ranking is rendered in parts (bounded memory), joined and numbered 1…N."""
    from auditapp.reports import context

    # one store per table and per part: several parts even for a small chain
    monkeypatch.setattr(context, "chunks", lambda rows: [[row] for row in rows])
    client.application.config["REPORT_PART_ROWS"] = 1
    period = analytics.Period.month("2026-05")
    stores = [s for s in analytics.store_scores(period) if s.bdi is not None]
    assert len(stores) >= 3
    auth.login("hq@example.com")
    data = get_pdf(client, "/hq/reports/brand.pdf?month=2026-05", "brand-parts.pdf")
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 1 + len(stores)  # the front part, then one part per store
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
    joined = "\n".join(texts)
    for s in stores:
        assert s.name in joined and fmt_score(s.bdi) in joined
    assert joined.count("Store ranking") == 1
    assert joined.count("rounded to one decimal for display") == 1
    assert "Noto-Sans-CJK-SC" in " ".join(font_names(data))


def test_renders_collect_garbage_less_often_and_restore_the_setting():
    """While a PDF renders the collector's thresholds are raised (nested uses share one
    setting); afterwards they are as they were, also after an error."""
    import gc

    from auditapp.reports import pdf

    before = gc.get_threshold()
    with pdf.fewer_collections():
        assert gc.get_threshold() == pdf.RENDER_GC_THRESHOLDS
        with pdf.fewer_collections():
            assert gc.get_threshold() == pdf.RENDER_GC_THRESHOLDS
        assert gc.get_threshold() == pdf.RENDER_GC_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), pdf.fewer_collections():
        raise RuntimeError
    assert gc.get_threshold() == before
