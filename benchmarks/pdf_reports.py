"""How long do the PDF reports take, and how much memory? Run by hand from the repository
root:

    .venv/bin/python benchmarks/pdf_reports.py                 # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/pdf_reports.py --only sqlite --repeat 5

Data: the benchmark chain of ``benchmarks/_common.py`` (2,000 stores × 12 months, made on
first use into /tmp/auditapp-bench/bench.sqlite and the PostgreSQL database
``auditapp_bench``, then kept). Measures

- the store's monthly PDF (a manager's report for one store and month): goal ≤ 1 s;
- the HQ brand summary PDF for the month (every region and store): goal ≤ 20 s and
  ≤ 500 MB peak memory.

Every measurement runs in a fresh Python process (``--child``) that renders the report
twice (the first render also loads fonts and templates; the second is what a worker that
has rendered before takes), so the peak memory is that process's own peak resident set
size (``getrusage(RUSAGE_SELF).ru_maxrss``; tracemalloc would miss WeasyPrint's and the C
libraries' memory). A child that only loads the app and opens the database gives the
baseline. The render functions come from ``auditapp.reports``
(``context.store_month_context`` + ``pdf.render_report``, and
``context.brand_summary_context`` + ``pdf.render_brand_summary``, as the app's own
downloads use them); without it the benchmark says so and stops. Other functions can be
given with ``--store-fn`` / ``--hq-fn`` (``module:function``); arguments are matched by
parameter name (``store``, ``store_id``, ``month``, ``period``, ``brand``, …).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"store": (1.0, None), "hq": (20.0, 500.0)}  # seconds, MB
#: Likely names of the render functions in the reports module, tried in order.
CANDIDATES = {
    "store": ("store_monthly_pdf", "store_month_pdf", "render_store_month",
              "render_store_monthly", "render_store_report", "store_report_pdf"),
    "hq": ("brand_summary_pdf", "hq_summary_pdf", "render_brand_summary",
           "render_hq_summary", "hq_report_pdf", "brand_report_pdf"),
}
REPORTS_MODULES = ("auditapp.reports", "auditapp.reports.pdf", "auditapp.pdf_reports")


def store_month_pdf(store, period) -> bytes:
    """The store's monthly PDF as ``auditapp.reports`` builds it for the manager's and HQ's
    download (``reports.views.store_month_pdf`` without the HTTP response)."""
    from auditapp.reports.context import store_month_context
    from auditapp.reports.pdf import render_report

    return render_report("store_month.html", report_date=date.today(),
                         **store_month_context(store, period))


def brand_summary_pdf(period) -> bytes:
    """HQ's brand summary PDF for the month, as the report job builds it
    (``jobs.build_brand_summary``)."""
    from auditapp.reports.context import brand_summary_context
    from auditapp.reports.pdf import render_brand_summary

    return render_brand_summary(brand_summary_context(period), report_date=date.today())


#: The reports module's own functions these adapters need.
ADAPTERS = {
    "store": (store_month_pdf, ("auditapp.reports.context", "store_month_context"),
              ("auditapp.reports.pdf", "render_report")),
    "hq": (brand_summary_pdf, ("auditapp.reports.context", "brand_summary_context"),
           ("auditapp.reports.pdf", "render_brand_summary")),
}


def _has(module_name: str, name: str) -> bool:
    try:
        return callable(getattr(importlib.import_module(module_name), name, None))
    except ModuleNotFoundError:
        return False


def find_render(kind: str, spec: str | None) -> Callable | None:
    """The render function for ``kind`` ('store' or 'hq'), or None if there is none."""
    if spec:
        module_name, _, name = spec.partition(":")
        return getattr(importlib.import_module(module_name), name)
    adapter, *needs = ADAPTERS[kind]
    if all(_has(module_name, name) for module_name, name in needs):
        return adapter
    for module_name in REPORTS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for name in CANDIDATES[kind]:
            fn = getattr(module, name, None)
            if callable(fn):
                return fn
    return None


def reports_available() -> tuple[bool, str]:
    for module_name in REPORTS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        public = sorted(n for n in dir(module) if not n.startswith("_")
                        and callable(getattr(module, n)))
        return True, f"{module_name}: {', '.join(public) or '(no functions)'}"
    return False, ("reports module not available: none of "
                   f"{', '.join(REPORTS_MODULES)} can be imported (the PDF reports branch "
                   "is not merged yet)")


def call_render(fn: Callable, values: dict) -> object:
    """Call ``fn`` with the values its parameters are named after."""
    kwargs = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name in values:
            kwargs[name] = values[name]
        elif param.default is inspect.Parameter.empty and param.kind not in (
                param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{fn.__name__}: no value for parameter {name!r}; "
                            f"known: {', '.join(sorted(values))}")
    return fn(**kwargs)


def pdf_bytes(result: object) -> bytes:
    """The PDF a render function produced: bytes, a file path, a BytesIO or a response."""
    if isinstance(result, bytes | bytearray):
        return bytes(result)
    if isinstance(result, str | Path) and Path(result).is_file():
        return Path(result).read_bytes()
    for attr in ("getvalue", "get_data", "write_pdf"):
        if hasattr(result, attr):
            return getattr(result, attr)()
    raise TypeError(f"cannot read a PDF from {type(result).__name__}")


def page_count(pdf: bytes) -> int:
    """Pages of a PDF, by poppler's ``pdfinfo`` (WeasyPrint compresses its object streams,
    so the page objects cannot simply be counted), else by searching the raw bytes."""
    try:
        with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
            tmp.write(pdf)
            tmp.flush()
            info = subprocess.run(["pdfinfo", tmp.name], capture_output=True, text=True,
                                  timeout=60).stdout
        match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
        if match:
            return int(match.group(1))
    except (OSError, subprocess.SubprocessError):
        pass
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def child(kind: str, url: str, month: str, spec: str | None) -> dict:
    """In a fresh process: open the app, render once, report time and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from auditapp import analytics, create_app
    from auditapp.config import normalise_database_url
    from auditapp.extensions import db
    from auditapp.models import Brand, Store

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    with app.app_context(), app.test_request_context("/"):
        store = db.session.scalars(select(Store).order_by(Store.id)).first()
        brand = db.session.scalars(select(Brand).order_by(Brand.id)).first()
        period = analytics.Period.month(month)
        values = {"store": store, "store_id": store.id if store else None, "month": month,
                  "period": period, "brand": brand, "brand_id": brand.id if brand else None,
                  "app": app, "session": db.session}
        out: dict = {"kind": kind}
        if kind != "baseline":
            fn = find_render(kind, spec)
            if fn is None:
                return {"kind": kind, "error": reports_available()[1]}
            started = time.perf_counter()
            pdf = pdf_bytes(call_render(fn, values))
            out["seconds"] = time.perf_counter() - started
            # a second render in the same process: what a worker that has rendered
            # before (fonts, templates, caches loaded) takes
            started = time.perf_counter()
            pdf_bytes(call_render(fn, values))
            out["warm_seconds"] = time.perf_counter() - started
            out["bytes"] = len(pdf)
            out["pages"] = page_count(pdf)
            out["function"] = f"{fn.__module__}.{fn.__name__}"
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_child(kind: str, url: str, month: str, spec: str | None, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--db", url, "--month", month]
    if spec:
        cmd += ["--fn", spec]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"kind": kind, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: _common's)")
    parser.add_argument("--month", default=None, help="YYYY-MM (default: the data's last)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per report")
    parser.add_argument("--store-fn", default=None, help="module:function of the store PDF")
    parser.add_argument("--hq-fn", default=None, help="module:function of the HQ summary PDF")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per child")
    parser.add_argument("--child", choices=("baseline", "store", "hq"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--fn", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args.db, args.month, args.fn)))
        return 0

    sys.path.insert(0, str(ROOT))
    available, detail = reports_available()
    if not available and not (args.store_fn or args.hq_fn):
        print(detail)
        print("Nothing measured. After merging the reports branch run this again, or name "
              "the functions: --store-fn auditapp.reports:<fn> --hq-fn auditapp.reports:<fn>")
        return 2
    print(detail)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common  # the scratch databases (generated on first use)

    month = args.month or f"{_common.LAST_MONTH:%Y-%m}"
    targets = []
    if args.only in (None, "sqlite"):
        targets.append(("SQLite", _common.DEFAULT_SQLITE))
    if args.only in (None, "postgres"):
        targets.append(("PostgreSQL", args.postgres or _common.DEFAULT_POSTGRES))
    rows = []
    for name, url in targets:
        print(f"\n== {name}: {url}", flush=True)
        _common.bench_app(url)
        base = run_child("baseline", url, month, None, args.timeout)
        for kind, spec in (("store", args.store_fn), ("hq", args.hq_fn)):
            runs = [run_child(kind, url, month, spec, args.timeout) for _ in range(args.repeat)]
            failed = [r for r in runs if "error" in r]
            if failed:
                print(f"  {kind}: {failed[0]['error']}")
                continue
            seconds = statistics.median(r["seconds"] for r in runs)
            warm = statistics.median(r["warm_seconds"] for r in runs)
            peak = max(r["maxrss_mb"] for r in runs)
            rows.append((name, kind, seconds, warm, peak, peak - base.get("maxrss_mb", 0),
                         runs[0]["pages"], runs[0]["bytes"]))
            print(f"  {kind}: {runs[0]['function']} {seconds:.2f} s first in a fresh process, "
                  f"{warm:.2f} s the second time (medians of {len(runs)}), "
                  f"peak RSS {peak:.0f} MB (app alone {base.get('maxrss_mb', 0):.0f} MB), "
                  f"{runs[0]['pages']} pages, {runs[0]['bytes'] / 1024:.0f} KB", flush=True)
    print(f"\nPDF reports, month {month} ({_common.STORES} stores)")
    print(f"{'database':<12}{'report':<8}{'first s':>8}{'again s':>8}{'peak MB':>9}"
          f"{'over app':>9}{'pages':>7}{'KB':>7}  goal (on the first render)")
    for name, kind, seconds, warm, peak, extra, pages, size in rows:
        limit_s, limit_mb = GOALS[kind]
        met = seconds <= limit_s and (limit_mb is None or peak <= limit_mb)
        goal = f"≤ {limit_s:.0f} s" + (f", ≤ {limit_mb:.0f} MB" if limit_mb else "")
        print(f"{name:<12}{kind:<8}{seconds:>8.2f}{warm:>8.2f}{peak:>9.0f}{extra:>9.0f}"
              f"{pages:>7}{size / 1024:>7.0f}  {goal}: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
