"""The Insights page at chain scale (issue #21): 2,000 stores × 12 months.

    AUDITAPP_BENCH_DIR=/tmp/bench-insights .venv/bin/python benchmarks/insights.py \\
        [--sqlite URL] [--postgres URL] [--only sqlite|postgres] [--repeat 7]

On the benchmark data set (``flask generate``: 2,000 stores, 12 months, one released
mystery visit per store and month with its loyalty answer, a QA audit per quarter,
hotline complaints; made on first use, see ``_common.py``) it times, for the month
2026-10 and the 12 months ending with it:

- ``GET /hq/insights`` as HQ, the whole page (goal: within 2 s), beside ``GET /hq/`` (the
  dashboard) in the same run, interleaved, with the ratio;
- each section of ``insights.build`` on its own (drivers, items, loyalty, triangulation,
  competitor gaps, item health), to show where the time goes;
- ``GET /api/hq/insights`` (the same figures as JSON).

The data set carries a ``visits.loyalty`` column, so use a scratch directory and a
PostgreSQL database of its own (``AUDITAPP_BENCH_DIR``, ``--postgres``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_SQLITE, LAST_MONTH, bench_app, ms, side_by_side  # noqa: E402

GOAL = 2.0  # seconds, the page
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/auditapp_bench_insights"


def run(url: str, repeat: int) -> None:
    from auditapp import insights
    from auditapp.analytics import Period
    from auditapp.generate import PASSWORD

    app = bench_app(url)
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    month = f"{LAST_MONTH:%Y-%m}"
    client = app.test_client()
    login = client.post("/auth/login", data={"username": "hq@example.com",
                                             "password": PASSWORD})
    assert login.status_code in (302, 303), login.status_code

    def page(path: str):
        def call():
            with client.get(path) as response:
                assert response.status_code == 200, (path, response.status_code)
                return response.get_data()
        return call

    html = page(f"/hq/insights?month={month}")().decode()
    assert "Key drivers of satisfaction" in html and "<svg" in html
    print(f"\n{url.split('@')[-1]}: Insights page {len(html) // 1024} KiB")
    pages = side_by_side({
        "GET /hq/insights": page(f"/hq/insights?month={month}"),
        "GET /hq/ (dashboard, reference)": page(f"/hq/?month={month}"),
        "GET /api/hq/insights": page(f"/api/hq/insights?month={month}"),
    }, repeat, warmup=1)
    for name, seconds in pages.items():
        print(f"  {name:<34} {ms(seconds)}")
    insight = pages["GET /hq/insights"]
    ratio = insight / pages["GET /hq/ (dashboard, reference)"]
    verdict = "within" if insight <= GOAL else "OVER"
    print(f"  Insights / dashboard: {ratio:.2f}×; page {verdict} the {GOAL:.0f} s goal")

    with app.test_request_context():
        period = Period.month(month)
        win = insights.window(period)
        brand = insights.key_drivers(win)
        sections = side_by_side({
            "key_drivers (SQL moments + numpy)": lambda: insights.key_drivers(win),
            "item_drivers (SQL sums, r per item)": lambda: insights.item_drivers(win),
            "importance_performance": lambda: insights.importance_performance(
                win, insights.BRAND, brand["csm"]),
            "loyalty (brand, regions, stores)": lambda: (
                insights.loyalty_rows(win, "brand"), insights.loyalty_rows(win, "region"),
                insights.stores_not_loyal(win)),
            "triangulate": lambda: insights.triangulate(win),
            "competitor_gaps": lambda: insights.competitor_gaps(win),
            "item_health": lambda: insights.item_health(win),
        }, max(3, repeat // 2), warmup=1)
        for name, seconds in sections.items():
            print(f"    {name:<36} {ms(seconds)}")
        drivers = brand["csm"]
        print(f"  n = {drivers.n} visits; top driver of the CSM: "
              f"{drivers.top.key if drivers.top else '–'}; "
              f"{len(insights.triangulate(win))} store-months flagged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", default=os.environ.get("BENCH_SQLITE", DEFAULT_SQLITE))
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_PG))
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.only != "postgres":
        run(args.sqlite, args.repeat)
    if args.only != "sqlite":
        run(args.postgres, args.repeat)


if __name__ == "__main__":
    main()
