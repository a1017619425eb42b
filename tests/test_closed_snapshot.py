"""Issue #16: a closed month is read from the figures stored when it was closed
(``month_figures``), so a later masterdata edit (a store moved to another region, a region
renamed, a store deactivated) or a settings change cannot change what the month shows on
the dashboard, the region page, the brand PDF, the API or ``flask bdi``; ``flask verify``
compares that snapshot with a recomputation from the raw rows."""

from __future__ import annotations

import io
import json
from datetime import date

from pypdf import PdfReader
from sqlalchemy import select, update

from auditapp import analytics
from auditapp.extensions import db
from auditapp.models import MonthFigure

from .factories import make_visit

MAY = analytics.Period.month("2026-05")
SETTINGS_FORM = {
    "w_ms": "1", "w_qa": "0.25", "w_hl": "1", "d_minor": "2", "d_major": "20",
    "d_critical": "10", "quick_hours": "48", "quick_factor": "0.5", "band_excellent": "90",
    "band_good": "80", "band_fair": "70", "dispute_window_days": "7",
    "complaint_overdue_hours": "48",
}



def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def _month_views(client, runner, east_id: int, store_id: int) -> dict[str, str]:
    """What a person sees of May: the figures of each page, the PDF's text, the API, CLI."""
    def page(url: str) -> str:
        html = client.get(url).get_data(as_text=True)
        # the figures (the <main> part); the menu and the filters list today's regions
        return html[html.index("<table"):html.rindex("</table>")]

    return {
        "dashboard": page("/hq/?month=2026-05"),
        "region": page(f"/hq/regions/{east_id}?month=2026-05"),
        "brand pdf": _pdf_text(client.get("/hq/reports/brand.pdf?month=2026-05").data),
        "store pdf": _pdf_text(
            client.get(f"/hq/reports/stores/{store_id}.pdf?month=2026-05").data)
        # the masthead names the store as it was in May; its city is today's
        .replace(" · Hangzhou · ", " · "),
        "api stores": json.dumps(client.get("/api/hq/bdi?month=2026-05&by=store").get_json(),
                                 ensure_ascii=False),
        "api regions": json.dumps(client.get("/api/hq/bdi?month=2026-05&by=region").get_json(),
                                  ensure_ascii=False),
        "cli": runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json"]).output,
    }


def _may(chain):
    e1, e2, n1 = chain.stores[0], chain.stores[1], chain.stores[2]
    day = date(2026, 5, 10)
    make_visit(chain, e1, visit_date=day, values={"courtesy_thanks": 0})
    make_visit(chain, e1, kind="qa", visit_date=day, values={"qa_kitchen": 0})
    make_visit(chain, e2, visit_date=day, values={"clean_restroom": 0})
    make_visit(chain, n1, visit_date=day)


def test_closed_month_shows_its_snapshot_after_masterdata_and_settings_edits(
        client, auth, chain, runner):
    _may(chain)
    east, north = chain.regions
    e2, n2 = chain.stores[1], chain.stores[3]
    auth.login("hq@example.com")
    assert client.post("/hq/months/close", data={"month": "2026-05"}).status_code == 303
    client.get("/hq/months")  # shows (and so clears) the flash message
    before = _month_views(client, runner, east.id, e2.id)
    assert "East 华东" in before["api regions"] and "Hangzhou Lake" in before["dashboard"]

    # E002 moves to the north and is renamed, the east region is renamed, N002 closes,
    # and the weights change (from the first open month, June)
    assert client.post(f"/hq/stores/{e2.id}/edit", data={
        "code": "E002", "name": "Hangzhou Moved", "address": "Hubin Rd 2",
        "city": "Hangzhou", "region_id": north.id, "timezone": "Asia/Shanghai"},
    ).status_code == 302
    assert client.post(f"/hq/regions/{east.id}/edit", data={
        "code": "EAST", "name": "East renamed", "brand_id": chain.brand.id}).status_code == 302
    assert client.post(f"/hq/stores/{n2.id}/active", data={"active": "0"}).status_code == 302
    assert client.post("/hq/settings", data=SETTINGS_FORM).status_code == 302
    db.session.expire_all()

    after = _month_views(client, runner, east.id, e2.id)
    for view, text in before.items():
        assert after[view] == text, view  # to the digit, and with the names at closing

    # a live recomputation does see the move (the east region now has E001 only)
    with analytics.live_figures():
        live_east = next(r for r in analytics.region_scores(MAY) if r.id == east.id)
    assert live_east.name == "East renamed" and live_east.stores_scored == 1
    east_may = next(r for r in analytics.region_scores(MAY) if r.id == east.id)
    assert east_may.name == "East 华东" and east_may.stores_scored == 2

    # flask verify: the snapshot agrees with the raw rows (over the stores it held) …
    ok = runner.invoke(args=["verify", "--month", "2026-05"])
    assert ok.exit_code == 0, ok.output
    assert "2026-05 is closed: its stored figures" in ok.output
    # … and a hand-corrupted snapshot is found
    db.session.execute(update(MonthFigure).where(
        MonthFigure.month == "2026-05", MonthFigure.code == "E001").values(bdi=12.5))
    db.session.execute(update(MonthFigure).where(
        MonthFigure.scope == "region", MonthFigure.ref_id == east.id).values(stores_scored=3))
    db.session.commit()
    bad = runner.invoke(args=["verify", "--month", "2026-05"])
    assert bad.exit_code == 1
    assert "snapshot store E001 BDI: found 12.5" in bad.output
    assert "snapshot region East 华东 stores scored: found 3, recomputed 2" in bad.output


def test_snapshot_keeps_what_the_pages_need(client, auth, chain):
    _may(chain)
    auth.login("hq@example.com")
    client.post("/hq/months/close", data={"month": "2026-05"})
    rows = db.session.scalars(select(MonthFigure).where(MonthFigure.scope == "store")).all()
    e1 = next(r for r in rows if r.code == "E001")
    assert e1.region_name == "East 华东" and e1.counted and e1.active
    assert e1.ms_e2 is not None and e1.bdi_e2 is not None
    with analytics.live_figures():
        live = {s.code: s for s in analytics.store_scores(MAY)}
    stored = {s.code: s for s in analytics.store_scores(MAY)}
    assert stored == live  # the same StoreScore, field by field


def test_ranking_bands_equal_scoring_at_every_boundary():
    """The ranking of many stores (``analytics._ranked``: rounds a value only near a bound
    or a near tie) gives exactly ``scoring.band``, ``scoring.bands_touched`` and the order
    of exact BDIs with ties by code, also at and around the bounds and the rounding."""
    import math
    import random

    from auditapp import scoring

    rng = random.Random(16)
    config = scoring.DEFAULT_CONFIG
    offsets = (-2e-6, -1e-6, -6e-7, -5e-7, -4e-7, -1e-7, -1e-9, 0.0, 1e-12, 1e-7, 4e-7,
               5e-7, 6e-7, 1e-6, 2e-6)
    values = [b + d for b in (0.0, 70.0, 80.0, 90.0, 100.0, 85.1234565, 77.5)
              for d in offsets] + [rng.uniform(0, 100) for _ in range(2000)]
    values += [89.99999999999999, 79.99999999999999, 69.99999999999999, 90.0, 90.0]
    e2s = (None, 0.0, (10.0 / scoring.Z90) ** 2, ((90.0 - 85.1234565) / scoring.Z90) ** 2)
    rows = []
    for n, bdi in enumerate(values):
        for e2 in (*e2s, rng.uniform(0, 200)):
            code = f"S{rng.randrange(10**6):06d}-{n}-{len(rows)}"
            rows.append((len(rows), code, "", True, 1, "", 1, None, 1, None, 0, None, 0,
                         bdi, e2, e2))
    rows.append((len(rows), "A-none", "", True, 1, "", 1, None, 0, None, 0, None, 0, None,
                 None, None))
    rng.shuffle(rows)
    ranked = analytics._ranked(analytics._columns(rows), config, {})
    expected = sorted((r for r in rows if r[13] is not None),
                      key=lambda r: (-scoring.exact(r[13]), r[1]))
    assert [s.code for s in ranked] == [r[1] for r in expected] + ["A-none"]
    for position, score in enumerate(ranked[:-1], start=1):
        assert score.rank == position
        assert score.band == scoring.band(score.bdi, config), score.bdi
        span = scoring.interval(score.bdi, math.sqrt(score.bdi_e2 or 0.0))
        assert score.bands == scoring.bands_touched(span, config), (score.bdi, score.bdi_e2)
    assert (ranked[-1].rank, ranked[-1].band, ranked[-1].bands) == (None, None, ())
