"""BDI ranking at chain scale: the app's ``analytics.store_scores`` against raw SQL.

    .venv/bin/python benchmarks/bdi_ranking.py [--sqlite URL] [--postgres URL]
                                                   [--only sqlite|postgres] [--repeat 15]
                                                   [--explain]

On a 2,000 stores × 12 months data set (generated on first use into a scratch SQLite file
and a scratch PostgreSQL database, see ``_common.py``) it times, for one month:

- ``analytics.store_scores(period)``: the app's BDI ranking (query + rows → StoreScore,
  band, rank), against the same figures from a hand-written ``GROUP BY`` run with
  ``db.session.execute(text(...))`` and fetched as plain tuples; medians of interleaved
  runs, ratio app/raw (goal ≤ 1.5×) and absolute time (goal ≤ 300 ms); the app's ranking
  carries each store's 90 % interval (SCORING.md §10: σ pooled over the 12 months ending
  with the month, e² per store), and is timed beside the plain raw query and beside the
  same raw query with the intervals written by hand (``RAW_INTERVALS_SQL``);
- the HQ dashboard's load: ``region_scores``, ``brand_score``, ``band_distribution`` and
  the brand's 12-month ``trend_series``;
- a closed month's ranking (read from the figures stored at closing) against the raw
  ``GROUP BY`` of that month.

Every month before the last is closed on first use (SCORING.md §11), as in a chain that
closes each month: the last month is the open one, and σ's window reads its eleven closed
months once per process (``analytics._closed_moments``). The open month is also timed as
if no month were closed (``analytics.live_figures``: the whole window from the visits).

It checks that the raw query gives the same BDIs as the app before timing anything.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES,
    DEFAULT_SQLITE,
    LAST_MONTH,
    bench_app,
    ms,
    side_by_side,
)
from sqlalchemy import Date, DateTime, Float, Integer, bindparam, text  # noqa: E402
from sqlalchemy.sql.elements import TextClause  # noqa: E402

RAW_SQL = """
WITH ms AS (
    SELECT store_id, avg(score) AS mean, count(id) AS n FROM visits
    WHERE kind = 'mystery' AND status IN ('released', 'disputed')
      AND visit_date >= :start AND visit_date < :end
      AND score IS NOT NULL AND store_id IS NOT NULL
    GROUP BY store_id
), qa AS (
    SELECT store_id, avg(score) AS mean, count(id) AS n FROM visits
    WHERE kind = 'qa' AND status IN ('released', 'disputed')
      AND visit_date >= :start AND visit_date < :end
      AND score IS NOT NULL AND store_id IS NOT NULL
    GROUP BY store_id
), hl AS (
    SELECT store_id,
           sum(CASE severity WHEN 'minor' THEN :minor WHEN 'major' THEN :major
                             ELSE :critical END
               * CASE WHEN resolution_seconds IS NOT NULL AND resolution_seconds <= :quick
                      THEN :factor ELSE 1.0 END) AS deducted,
           count(id) AS n
    FROM complaints WHERE received_at >= :start_dt AND received_at < :end_dt
    GROUP BY store_id
), joined AS (
    SELECT s.id AS store_id, s.code, s.name, s.active, r.id AS region_id,
           r.name AS region_name, r.brand_id, ms.mean AS ms, coalesce(ms.n, 0) AS ms_visits,
           qa.mean AS qa, coalesce(qa.n, 0) AS qa_visits,
           CASE WHEN ms.mean IS NULL AND qa.mean IS NULL THEN NULL
                WHEN 100.0 - coalesce(hl.deducted, 0.0) < 0 THEN 0.0
                ELSE 100.0 - coalesce(hl.deducted, 0.0) END AS hl,
           coalesce(hl.n, 0) AS complaints
    FROM stores s
    JOIN regions r ON r.id = s.region_id
    LEFT JOIN ms ON ms.store_id = s.id
    LEFT JOIN qa ON qa.store_id = s.id
    LEFT JOIN hl ON hl.store_id = s.id
    WHERE s.active
)
SELECT * FROM (
SELECT *,
       (coalesce(:c_ms * ms, 0.0) + coalesce(:c_qa * qa, 0.0) + coalesce(:c_hl * hl, 0.0))
       / nullif(CASE WHEN ms IS NULL THEN 0.0 ELSE :c_ms END
                + CASE WHEN qa IS NULL THEN 0.0 ELSE :c_qa END
                + CASE WHEN hl IS NULL THEN 0.0 ELSE :c_hl END, 0.0) AS bdi
FROM joined
) ranked
ORDER BY bdi IS NULL, bdi DESC, code
"""



#: RAW_SQL plus SCORING.md §10: σ² pooled over the 12-month window (per store n, ΣV, ΣV²),
#: then σ²/n for MS and e² = σ²/n·(c_MS/Σc)² for the BDI, for each store.
RAW_INTERVALS_SQL = RAW_SQL.replace("WITH ms AS (", """WITH per_store AS (
    SELECT count(v.id) AS n, sum(v.score) AS s, sum(v.score * v.score) AS ss
    FROM visits v JOIN stores st ON st.id = v.store_id
    WHERE v.kind = 'mystery' AND v.status IN ('released', 'disputed')
      AND v.visit_date >= :window_start AND v.visit_date < :end
      AND v.score IS NOT NULL AND st.active
    GROUP BY v.store_id HAVING count(v.id) >= 2
), spread AS (
    SELECT CASE WHEN coalesce(sum(n), 0) - count(*) < 30 THEN 225.0
                ELSE sum(ss - s * s / n) / (coalesce(sum(n), 0) - count(*)) END AS sigma2
    FROM per_store
), ms AS (""", 1).replace("""SELECT * FROM (
SELECT *,""", """SELECT ranked.*,
       CASE WHEN ms IS NOT NULL THEN sigma2 / ms_visits END AS ms_e2,
       CASE WHEN ms IS NOT NULL
            THEN sigma2 / ms_visits * (:c_ms / denominator) * (:c_ms / denominator)
            WHEN qa IS NOT NULL THEN 0.0 END AS bdi_e2
FROM (
SELECT *,
       CASE WHEN ms IS NULL THEN 0.0 ELSE :c_ms END
       + CASE WHEN qa IS NULL THEN 0.0 ELSE :c_qa END
       + CASE WHEN hl IS NULL THEN 0.0 ELSE :c_hl END AS denominator,""", 1).replace(
    """) ranked
ORDER BY""", """) ranked CROSS JOIN spread
ORDER BY""", 1)


def typed(sql: str) -> TextClause:
    """The SQL text with typed parameters (dates as the dialect stores them)."""
    return text(sql).bindparams(
        bindparam("start", type_=Date), bindparam("end", type_=Date),
        *([bindparam("window_start", type_=Date)] if ":window_start" in sql else []),
        bindparam("start_dt", type_=DateTime), bindparam("end_dt", type_=DateTime),
        *(bindparam(n, type_=Float) for n in ("minor", "major", "critical", "factor",
                                              "c_ms", "c_qa", "c_hl")),
        bindparam("quick", type_=Integer),
    )


RAW = typed(RAW_SQL)
RAW_INTERVALS = typed(RAW_INTERVALS_SQL)


def raw_params(period, config) -> dict:
    d, c = config.hotline_deductions, config.component_weights
    return {
        "start": period.start, "end": period.end,
        "start_dt": period.start_dt, "end_dt": period.end_dt,
        "minor": d["minor"], "major": d["major"], "critical": d["critical"],
        "quick": int(config.quick_resolution_hours * 3600),
        "factor": config.quick_resolution_factor,
        "c_ms": c["MS"], "c_qa": c["QA"], "c_hl": c["HL"],
    }


def ranked(rows: list) -> list:
    """Raw rows in the app's order: BDI compared as exact decimals (SCORING.md §7a), ties
    by code; the SQL's ``ORDER BY bdi DESC`` may split a tie the last bits decide."""
    from auditapp.scoring import exact

    return sorted(rows, key=lambda r: (r.bdi is None, -exact(r.bdi or 0.0), r.code))


def explain(db, sql: str, params: dict) -> str:
    dialect = db.engine.dialect.name
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN (ANALYZE, COSTS OFF) "
    rows = db.session.execute(typed(prefix + sql), params).all()
    if dialect == "sqlite":
        return "\n".join(f"    {r[-1]}" for r in rows)
    return "\n".join(f"    {r[0]}" for r in rows)


def run(url: str, repeat: int, show_plan: bool) -> dict[str, float]:
    from auditapp import analytics
    from auditapp.extensions import db
    from auditapp.settings import scoring_config

    app = bench_app(url)
    with app.app_context():
        period = analytics.Period.month(f"{LAST_MONTH:%Y-%m}")
        close_months_before(db, analytics, period)
        config = scoring_config()
        params = raw_params(period, config)

        def app_ranking():
            return analytics.store_scores(period)

        def raw_ranking():
            return db.session.execute(RAW, params).all()

        def all_open():  # as if no month were closed: σ's whole window from the visits
            with analytics.live_figures():
                return analytics.store_scores(period)

        interval_params = params | {"window_start": analytics.spread_window(period).start}

        def raw_intervals():
            return db.session.execute(RAW_INTERVALS, interval_params).all()

        # the raw query must be the same computation
        app_rows, raw_rows = app_ranking(), ranked(raw_ranking())
        assert [r.code for r in app_rows] == [r.code for r in raw_rows], "order differs"
        for a, r in zip(app_rows, raw_rows, strict=True):
            assert abs(a.bdi - r.bdi) < 1e-9 and a.complaints == r.complaints, a.code
        for a, r in zip(app_rows, ranked(raw_intervals()), strict=True):
            assert a.code == r.code and (a.bdi_e2 is None) == (r.bdi_e2 is None), a.code
            assert a.bdi_e2 is None or abs(a.bdi_e2 - r.bdi_e2) < 1e-9, a.code

        dialect = db.engine.dialect.name
        loadavg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n== {dialect}: {len(app_rows)} stores, month {period.label}, "
              f"median of {repeat}; {os.cpu_count()} cores, load average {loadavg} ==")
        if show_plan:
            print("  plan of the raw ranking query:")
            print(explain(db, RAW_SQL, params))

        times = side_by_side({"app": app_ranking, "raw": raw_ranking,
                              "raw_intervals": raw_intervals, "all_open": all_open}, repeat)
        ratio = times["app"] / times["raw"]
        print(f"  store_scores (app, with intervals) {ms(times['app'])}   goal ≤ 300 ms "
              f"{'OK' if times['app'] <= 0.3 else 'MISSED'}")
        print(f"  raw SQL GROUP BY                   {ms(times['raw'])}")
        print(f"  raw SQL GROUP BY + intervals       {ms(times['raw_intervals'])}")
        print(f"  ratio app / raw                    {ratio:8.2f} ×    goal ≤ 1.5 × "
              f"{'OK' if ratio <= 1.5 else 'MISSED'}")
        print(f"  ratio app / raw with intervals     "
              f"{times['app'] / times['raw_intervals']:8.2f} ×")
        print(f"  no month closed: store_scores      {ms(times['all_open'])}, ratio app / raw "
              f"{times['all_open'] / times['raw']:.2f} ×")

        dashboard = side_by_side(
            {
                "region_scores": lambda: analytics.region_scores(period),
                "brand_score": lambda: analytics.brand_score(period),
                "band_distribution": lambda: analytics.band_distribution(period),
                "trend_series (brand, 12 months)": lambda: analytics.trend_series(period, 12),
                "store_scores (with_trend)": lambda: analytics.store_scores(
                    period, with_trend=True),
            },
            max(3, repeat // 3),
            warmup=1,
        )
        for name, seconds in dashboard.items():
            print(f"  {name:<32}{ms(seconds)}")
        load = sum(dashboard[k] for k in ("region_scores", "brand_score", "band_distribution",
                                          "trend_series (brand, 12 months)"))
        load += times["app"]
        print(f"  HQ dashboard load (ranking + regions + brand + bands + trend) {ms(load)}")
        closed = closed_month_ranking(db, analytics, period.previous(), config, repeat)
        db.session.remove()
        db.engine.dispose()
    return {"app": times["app"], "raw": times["raw"], "raw_intervals": times["raw_intervals"],
            "ratio": ratio, **dashboard, **closed}


def close_months_before(db, analytics, period) -> None:
    """Close every month of the data set before ``period``, oldest first, on first use: a
    chain that closes each month (SCORING.md §11) has only the current month open."""
    from auditapp import months

    for month in period.months_back(12)[:-1]:
        if not months.is_closed(month):
            months.close_month(month, None)
            db.session.commit()


def closed_month_ranking(db, analytics, period, config, repeat: int) -> dict[str, float]:
    """A closed month (SCORING.md §11: what dashboards open on) is read from the figures
    stored at closing: its ranking with intervals against the raw ``GROUP BY`` of that
    month."""
    params = raw_params(period, config)
    app_rows = analytics.store_scores(period)
    raw_rows = ranked(db.session.execute(RAW, params).all())
    assert [r.code for r in app_rows] == [r.code for r in raw_rows], "closed order differs"
    for a, r in zip(app_rows, raw_rows, strict=True):
        assert abs(a.bdi - r.bdi) < 1e-9, a.code
    times = side_by_side({
        "closed_app": lambda: analytics.store_scores(period),
        "closed_raw": lambda: db.session.execute(RAW, params).all(),
    }, repeat)
    print(f"  closed month {period.label}: store_scores (snapshot, with intervals) "
          f"{ms(times['closed_app'])}, raw GROUP BY {ms(times['closed_raw'])}, ratio "
          f"{times['closed_app'] / times['closed_raw']:.2f} ×")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default=DEFAULT_SQLITE, help="SQLite URL (scratch file)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args(argv)
    targets = [("sqlite", args.sqlite), ("postgres", args.postgres)]
    for name, url in targets:
        if args.only in (None, name):
            run(url, args.repeat, args.explain)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
