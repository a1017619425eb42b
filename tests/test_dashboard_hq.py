"""HQ dashboards: figures equal `flask bdi`, sorting and filtering, the drill-down
brand → region → store → visit, and the competitor benchmark."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime

from auditapp import scoring
from auditapp.extensions import db
from auditapp.models import CompetitorStore

from .factories import make_complaint, make_visit


def _data(chain):
    e001, e002, n001, n002 = chain.stores
    make_visit(chain, e001, visit_date=date(2026, 5, 3), values={"courtesy_smile": 0})
    make_visit(chain, e001, visit_date=date(2026, 5, 20), values={"clean_dining": 0})
    make_visit(chain, e001, kind="qa", visit_date=date(2026, 5, 8))
    make_visit(chain, e002, visit_date=date(2026, 5, 4), default=0)
    make_visit(chain, n001, visit_date=date(2026, 5, 5), values={"speed_total": 250})
    make_visit(chain, n001, visit_date=date(2026, 4, 5))  # previous month: trend
    make_complaint(n001, datetime(2026, 5, 6, 3, 0), "major", resolved_after_hours=5)
    make_complaint(e002, datetime(2026, 5, 7, 3, 0), "critical")
    comp = CompetitorStore(competitor="Rival Burger 对手", name="Rival Nanjing Rd",
                           region=chain.regions[0])
    db.session.add(comp)
    rival = make_visit(chain, e001, kind="competitor", visit_date=date(2026, 5, 9),
                       values={"quality_hot": 0})
    rival.store_id, rival.competitor = None, comp
    db.session.commit()
    return rival


def _cli(runner, month="2026-05"):
    result = runner.invoke(args=["bdi", "--month", month, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _rows(html: str) -> dict[str, list[str]]:
    rows = {}
    for code, body in re.findall(r'<tr data-store="(\w+)">(.*?)</tr>', html, re.S):
        rows[code] = [re.sub(r"<[^>]+>", "", c).strip()
                      for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
    return rows


def test_dashboard_figures_equal_flask_bdi(client, auth, chain, runner):
    _data(chain)
    cli = _cli(runner)
    auth.login("hq@example.com")
    html = client.get("/hq/?month=2026-05").get_data(as_text=True)
    brand = re.search(r'id="brand-bdi".*?<span class="big">([^<]+)</span>', html, re.S)
    assert brand.group(1) == scoring.fmt_score(cli["brand"]["bdi"])
    rows = _rows(html)
    assert set(rows) == {s["code"] for s in cli["stores"]}
    for s in cli["stores"]:
        rank, _name, region, ms, qa, hl, bdi, _trend, _band = rows[s["code"]]
        f = scoring.fmt_score
        assert [ms, qa, hl] == [f(s["ms"]), f(s["qa"]), f(s["hl"])]
        assert rank == (str(s["rank"]) if s["rank"] else "–")
        assert region == s["region"]
        # the BDI with its 90 % interval (whole points, rounded outwards) and n visits
        if s["bdi"] is None:
            assert bdi == "–" and s["interval"] is None
            continue
        low, high = s["interval"]
        assert bdi == (f"{f(s['bdi'])} ({math.floor(low)}–{math.ceil(high)}, "
                       f"n={s['ms_visits']})")
        assert _band.endswith("confirmed" if s["band_confirmed"] else "provisional")
    # the JSON API gives exactly the CLI's numbers
    api = client.get("/api/hq/bdi?month=2026-05&by=store").get_json()
    assert api["stores"] == cli["stores"] and api["brand"] == cli["brand"]
    # band distribution and satisfaction come along; charts are inline SVG
    assert html.count("<svg") >= 2 and "<script>" not in html
    assert "Satisfaction rate" in html


def test_ranking_sorts_by_column_and_filters_by_region(client, auth, chain):
    _data(chain)
    auth.login("hq@example.com")

    def order(query: str) -> list[str]:
        html = client.get(f"/hq/?month=2026-05&{query}").get_data(as_text=True)
        return list(_rows(html))

    by_rank = order("")
    assert by_rank[-1] == "N002"  # no BDI: last
    assert order("sort=bdi&dir=asc")[:3] == list(reversed(by_rank[:3]))
    assert order("sort=code&dir=asc") == ["E001", "E002", "N001", "N002"]
    assert order("sort=code&dir=desc") == ["N002", "N001", "E002", "E001"]
    assert order("sort=nonsense") == by_rank
    north = chain.regions[1].id
    assert order(f"region={north}") == ["N001", "N002"]
    html = client.get("/hq/?month=2026-05&sort=hl").get_data(as_text=True)
    assert 'aria-sort="descending"' in html


def test_bad_month_falls_back_with_a_message(client, auth, chain):
    _data(chain)
    auth.login("hq@example.com")
    html = client.get("/hq/?month=2026-13").get_data(as_text=True)
    assert "Write the month as YYYY-MM" in html
    assert "2026-05" in html  # the latest month with released visits


def test_drill_down_brand_region_store_visit(client, auth, chain, runner):
    _data(chain)
    cli = {s["code"]: s for s in _cli(runner)["stores"]}
    auth.login("hq@example.com")
    east = chain.regions[0]
    html = client.get("/hq/?month=2026-05").get_data(as_text=True)
    assert f"/hq/regions/{east.id}?month=2026-05" in html

    region = client.get(f"/hq/regions/{east.id}?month=2026-05").get_data(as_text=True)
    assert "East 华东" in region and "上海南京西路店" in region and "北京王府井店" not in region
    mean = scoring.group_score([cli["E001"]["bdi"], cli["E002"]["bdi"]])
    got = re.search(r'id="region-bdi".*?<span class="big">([^<]+)</span>', region, re.S)
    assert got.group(1) == scoring.fmt_score(mean)
    store = chain.stores[0]
    assert f"/hq/stores/{store.id}?month=2026-05" in region

    page = client.get(f"/hq/stores/{store.id}?month=2026-05").get_data(as_text=True)
    assert "上海南京西路店" in page
    got = re.search(r'id="store-bdi".*?<span class="big">([^<]+)</span>', page, re.S)
    assert got.group(1) == scoring.fmt_score(cli["E001"]["bdi"])
    assert scoring.fmt_score(cli["E001"]["ms"]) in page
    assert f"Rank {cli['E001']['rank']}<" in page  # ranked among all stores
    assert "line-chart" in page  # the 12-month trend
    visit_links = re.findall(r'href="/hq/visits/(\d+)"', page)
    assert len(visit_links) == 3  # two mystery visits and the QA audit
    visit = client.get(f"/hq/visits/{visit_links[0]}")
    assert visit.status_code == 200 and "上海南京西路店" in visit.get_data(as_text=True)
    assert client.get("/hq/stores/999").status_code == 404
    assert client.get("/hq/regions/999").status_code == 404


def test_heat_map_and_band_chart(client, auth, chain):
    _data(chain)
    auth.login("hq@example.com")
    html = client.get("/hq/?month=2026-05").get_data(as_text=True)
    heat = html[html.index('class="table heat"'):]
    assert "cell-excellent" in heat and "cell-needs_improvement" in heat
    chart = html[html.index('class="chart bar-chart"'):]
    chart = chart[:chart.index("</svg>")]
    assert "Excellent" in chart and "Needs improvement" in chart


def test_competitor_benchmark(client, auth, chain):
    rival = _data(chain)
    auth.login("hq@example.com")
    html = client.get("/hq/competitors?month=2026-05").get_data(as_text=True)
    assert "Rival Burger 对手" in html
    quality = rival_dim = None
    for ds in rival.dimension_scores:
        if ds.dimension == "quality":
            rival_dim = ds.score
    quality = re.search(r"Product quality</td>(.*?)</tr>", html, re.S).group(1)
    assert scoring.fmt_score(rival_dim) in quality
    assert client.get("/hq/competitors?month=2026-01").status_code == 200
    data = client.get("/api/hq/dimensions?month=2026-05").get_json()
    assert data["competitors"][0]["competitor"] == "Rival Burger 对手"
    assert data["competitors"][0]["dimensions"]["quality"] == rival_dim
    # a competitor visit's page is reachable too
    assert client.get(f"/hq/visits/{rival.id}").status_code == 200


def test_dashboards_are_hq_only(client, auth, chain):
    auth.login("m.e001@example.com")
    for url in ("/hq/", "/hq/regions/1", f"/hq/stores/{chain.stores[0].id}",
                "/hq/competitors", "/hq/api-token"):
        assert client.get(url).status_code == 403
