"""Month-end at chain scale (issue #22): store PDFs and the brand summary on 1 and 2 RQ
workers, against a bare WeasyPrint 2,000-row table rendered in the same run. By hand:

    .venv/bin/python benchmarks/month_end.py                  # 200 store PDFs, 1 and 2 workers
    .venv/bin/python benchmarks/month_end.py --stores 2000    # every store (slow)
    .venv/bin/python benchmarks/month_end.py --skip-stores    # the brand summary and the bare table

Data: the benchmark chain of ``benchmarks/_common.py`` (``flask generate --stores 2000
--months 12``, SQLite at ``$AUDITAPP_BENCH_DIR/bench.sqlite``; ``--db`` for another,
e.g. PostgreSQL). Redis at ``--redis`` (default ``redis://127.0.0.1:6379/0``); a queue of
the benchmark's own.

For each worker count the benchmark starts that many real ``rq worker -w
auditapp.month_end_jobs.ReportWorker`` processes (each loads the app and fonts once and
builds one store report per language to warm up — ``--no-warm-up`` leaves that out — then
forks a process per job, RQ's default), waits until they listen, and then times, from the
enqueue to the last part done (read from the parts' rows):

- ``--stores`` store monthly PDFs (a month-end run whose other parts are set aside);
- the brand summary, from the enqueue of the run's parent job (which computes the
  summary's context, renders the ranking pieces' HTML and enqueues the pieces) to the
  merge: its pieces (front sections; ranking in pieces of ``REPORT_PART_ROWS`` stores, as
  in one process) and the merge that stamps "Page X of Y"; each part's start, wall and
  CPU time are printed.

In fresh processes, side by side: the brand summary rendered in one process
(``reports.pdf.brand_summary_pdf``, the download's path) and a bare WeasyPrint table of
the same 2,000 rows × 9 cells with no stylesheet but the font. Peak memory: each part's
process records ``ru_maxrss`` (``MonthEndPart.peak_rss_mb``); the worker processes' own
peak comes from ``getrusage(RUSAGE_CHILDREN)`` once they are stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def bare_table(url: str, month: str) -> dict:
    """In this (fresh) process: the 2,000 ranking rows as a bare WeasyPrint table."""
    from html import escape

    from weasyprint import HTML

    from auditapp import analytics, create_app
    from auditapp.config import normalise_database_url

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    with app.app_context():
        period = analytics.Period.month(month)
        rows = analytics.store_scores(period, with_trend=True)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
                s.rank, f"{s.code} {s.name}", s.region_name, s.ms, s.qa, s.hl, s.bdi,
                s.band, s.trend)) + "</tr>" for s in rows)
    html = ("<html><head><style>body{font-family:'Noto Sans CJK SC',sans-serif;"
            "font-size:8pt}</style></head><body><table>" + body + "</table></body></html>")
    started = time.perf_counter()
    data = HTML(string=html).write_pdf()
    seconds = time.perf_counter() - started
    import io

    from pypdf import PdfReader

    return {"seconds": seconds, "rows": len(rows), "pages": len(PdfReader(io.BytesIO(data)).pages),
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def single_process_brand(url: str, month: str) -> dict:
    """In this (fresh) process: the brand summary as the download renders it."""
    from auditapp import analytics, create_app
    from auditapp.config import normalise_database_url
    from auditapp.reports.pdf import brand_summary_pdf

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    with app.app_context(), app.test_request_context("/"):
        from auditapp.reports.pdf import font_config, print_stylesheet

        font_config()
        print_stylesheet()
        started = time.perf_counter()
        data, _name = brand_summary_pdf(analytics.Period.month(month))
        seconds = time.perf_counter() - started
    import io

    from pypdf import PdfReader

    return {"seconds": seconds, "pages": len(PdfReader(io.BytesIO(data)).pages),
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(kind: str, url: str, month: str) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--db", url, "--month", month]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Workers:
    """``n`` real RQ worker processes on ``queue`` (started here, stopped here)."""

    def __init__(self, n: int, url: str, redis_url: str, queue: str, env: dict):
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, "-q",
             "-w", "auditapp.month_end_jobs.ReportWorker", queue],
            cwd=ROOT, env={**env, "DATABASE_URL": url, "REDIS_URL": redis_url},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]

    def wait_listening(self, rq_queue, timeout: float = 300) -> None:
        from rq import Worker

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(Worker.all(queue=rq_queue)) >= len(self.procs):
                return
            time.sleep(0.5)
        raise RuntimeError("workers did not start")

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)  # warm shutdown (idle: at once)
        for proc in self.procs:
            proc.wait(timeout=120)


def timed_parts(app, queue, run_id: int, part_ids: list[int], until_kind: str | None,
                timeout: float) -> tuple[float, list]:
    """Enqueue ``part_ids`` and wait until they (and, with ``until_kind``, that part) are
    done; returns (seconds, the parts' rows)."""
    from sqlalchemy import select

    from auditapp import month_end_jobs
    from auditapp.extensions import db
    from auditapp.models import MonthEndPart

    started = time.perf_counter()
    with app.test_request_context("/"):
        if part_ids:
            month_end_jobs._enqueue_parts(queue, run_id, part_ids)
        else:  # the fan-out job: it plans the brand summary's pieces and enqueues them
            queue.enqueue("auditapp.month_end_jobs.plan_job", run_id, job_timeout=1800)
    watch = select(MonthEndPart).where(MonthEndPart.run_id == run_id)
    if until_kind is None:
        watch = watch.where(MonthEndPart.id.in_(part_ids))
    else:
        watch = watch.where(MonthEndPart.kind.in_(("brand_piece", until_kind)))
    while True:
        db.session.expire_all()
        parts = db.session.scalars(watch).all()
        bad = [p for p in parts if p.status == "failed" and p.attempts >= 3]
        if bad:
            raise RuntimeError(f"part failed: {bad[0].error}")
        if parts and all(p.status == "done" for p in parts):
            return time.perf_counter() - started, parts
        if time.perf_counter() - started > timeout:
            raise RuntimeError("timed out")
        time.sleep(0.2)


def fresh_run(app, month: str, keep: str, stores: int) -> tuple[int, list[int]]:
    """A new planned run of ``month`` whose parts other than ``keep`` (``store``: the first
    ``stores`` store parts; ``brand``: the brand summary's pieces and merge) are set aside
    (marked done without a file); returns (run id, part ids to enqueue)."""
    from sqlalchemy import delete, select, update

    from auditapp import month_end
    from auditapp.extensions import db
    from auditapp.models import MonthEndPart, MonthEndRun

    with app.test_request_context("/"):
        db.session.execute(delete(MonthEndPart))
        db.session.execute(delete(MonthEndRun))
        run = month_end.get_or_create_run(month)
        db.session.flush()
        month_end.plan(run)
        parts = db.session.execute(select(MonthEndPart.id, MonthEndPart.kind,
                                          MonthEndPart.locale)
                                   .where(MonthEndPart.run_id == run.id)
                                   .order_by(MonthEndPart.id)).all()
        if keep == "store":  # the reports in the run's language (one per store)
            ids = [pid for pid, kind, locale in parts if kind == "store" and locale is None
                   ][:stores]
            db.session.execute(update(MonthEndPart).where(
                MonthEndPart.run_id == run.id, MonthEndPart.id.not_in(ids)).values(
                status="done"))
        else:  # the fan-out job plans the brand summary's pieces again, in the timed window
            ids = []
            db.session.execute(update(MonthEndPart).where(
                MonthEndPart.run_id == run.id,
                MonthEndPart.kind.not_in(("brand_piece", "brand"))).values(status="done"))
            db.session.execute(delete(MonthEndPart).where(
                MonthEndPart.run_id == run.id,
                MonthEndPart.kind.in_(("brand_piece", "brand"))))
        db.session.commit()
        return run.id, ids


def brand_figures(parts: list, seconds: float, enqueued) -> dict:
    """The brand summary's parts on the queue, printed one a line: when each started
    (seconds after the fan-out job was enqueued), its job's wall and CPU time and peak
    RSS; the fan-out is the time until the first piece started."""
    pieces = sorted((p for p in parts if p.kind == "brand_piece"), key=lambda p: p.key)
    merged = next(p for p in parts if p.kind == "brand")
    fan_out = min((p.started_at - enqueued).total_seconds() for p in pieces)
    for p in [*pieces, merged]:
        name = "merge" if p is merged else f"piece {p.key}"
        print(f"   {name:10} start {(p.started_at - enqueued).total_seconds():5.1f} s  "
              f"wall {p.build_ms / 1000:5.1f} s  CPU {p.cpu_ms / 1000:5.1f} s  "
              f"{p.pages:3} pages  {p.peak_rss_mb} MB", flush=True)
    cpu = sum(p.cpu_ms or 0 for p in [*pieces, merged]) / 1000
    print(f"   fan-out (plan job) {fan_out:.1f} s; pieces + merge CPU {cpu:.1f} s; the workers "
          f"got {cpu / seconds:.2f} cores", flush=True)
    return {"seconds": seconds, "pages": merged.pages, "cpu_s": cpu, "fan_out_s": fan_out,
            "pieces": len(pieces), "peak_mb": max(p.peak_rss_mb or 0 for p in parts),
            "build_ms": [p.build_ms for p in pieces] + [merged.build_ms],
            "cpu_ms": [p.cpu_ms for p in pieces] + [merged.cpu_ms]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="database URL (default: _common's SQLite)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--month", default=None, help="YYYY-MM (default: the data's last)")
    parser.add_argument("--stores", type=int, default=200, help="store PDFs to build")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--skip-single", action="store_true",
                        help="leave out the one-process brand summary and bare table")
    parser.add_argument("--skip-brand", action="store_true",
                        help="store PDFs only")
    parser.add_argument("--skip-stores", action="store_true",
                        help="the brand summary only (with the bare table unless "
                             "--skip-single)")
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="workers build a report per language before taking jobs "
                             "(REPORT_WORKER_WARM_UP; default on)")
    parser.add_argument("--child", choices=("bare", "single"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        fn = bare_table if args.child == "bare" else single_process_brand
        print(json.dumps(fn(args.db, args.month)))
        return 0

    import _common
    from redis import Redis
    from rq import Queue

    from auditapp.config import normalise_database_url
    from auditapp.extensions import db
    from auditapp.models import MonthEndPart, utcnow

    url = normalise_database_url(args.db or _common.DEFAULT_SQLITE)
    month = args.month or f"{_common.LAST_MONTH:%Y-%m}"
    app = _common.bench_app(url)
    files = Path(os.environ.get("AUDITAPP_BENCH_DIR", "/tmp/auditapp-bench")) / "month-end-files"
    app.config["UPLOAD_FOLDER"] = str(files)
    env = {**os.environ, "UPLOAD_FOLDER": str(files),
           "REPORT_WORKER_WARM_UP": "1" if args.warm_up else "0"}
    redis = Redis.from_url(args.redis)
    queue_name = f"auditapp-bench-{secrets.token_hex(4)}"
    queue = Queue(queue_name, connection=redis)
    cores = os.cpu_count()
    load = os.getloadavg()
    print(f"month {month}, {cores} cores, load average {load[0]:.1f} at the start; workers "
          f"{'warmed up' if args.warm_up else 'cold (no warm-up)'}", flush=True)

    results: dict = {"month": month, "stores": args.stores, "load_start": load[0],
                     "warm_up": args.warm_up}
    with app.app_context():
        for n in [int(x) for x in args.workers.split(",")]:
            workers = Workers(n, url, args.redis, queue_name, env)
            try:
                workers.wait_listening(queue)
                time.sleep(2)
                if args.skip_brand:
                    run_id, ids = fresh_run(app, month, "store", args.stores)
                    seconds, parts = timed_parts(app, queue, run_id, ids, None, 7200)
                    cpu = sum(p.cpu_ms or 0 for p in parts) / 1000
                    build = statistics.median(p.build_ms or 0 for p in parts) / 1000
                    peak = max(p.peak_rss_mb or 0 for p in parts)
                    results[f"stores_{n}"] = {"seconds": seconds, "per_s": len(ids) / seconds,
                                              "peak_mb": peak, "cpu_s": cpu,
                                              "cpu_per_pdf_s": cpu / len(ids),
                                              "median_build_s": build}
                    print(f"{n} worker(s): {len(ids)} store PDFs in {seconds:.1f} s = "
                          f"{len(ids) / seconds:.2f} /s, peak {peak} MB per job; per PDF CPU "
                          f"{cpu / len(ids):.2f} s, build {build:.2f} s (median); the "
                          f"workers got {cpu / seconds:.2f} cores", flush=True)
                    continue
                run_id, _none = fresh_run(app, month, "brand", args.stores)
                enqueued = utcnow()
                seconds, parts = timed_parts(app, queue, run_id, [], "brand", 1800)
                results[f"brand_{n}"] = brand_figures(parts, seconds, enqueued)
                print(f"{n} worker(s): brand summary (fan-out, {len(parts) - 1} pieces, "
                      f"merge): {seconds:.1f} s, {results[f'brand_{n}']['pages']} pages, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                if args.skip_stores:
                    continue
                run_id, ids = fresh_run(app, month, "store", args.stores)
                seconds, parts = timed_parts(app, queue, run_id, ids, None, 7200)
                peak = max(p.peak_rss_mb or 0 for p in parts)
                cpu = sum(p.cpu_ms or 0 for p in parts) / 1000
                build = statistics.median(p.build_ms or 0 for p in parts) / 1000
                results[f"stores_{n}"] = {"seconds": seconds, "per_s": len(ids) / seconds,
                                          "peak_mb": peak, "cpu_s": cpu,
                                          "cpu_per_pdf_s": cpu / len(ids),
                                          "median_build_s": build}
                print(f"{n} worker(s): {len(ids)} store PDFs in {seconds:.1f} s = "
                      f"{len(ids) / seconds:.2f} /s, peak {peak} MB per job; per PDF CPU "
                      f"{cpu / len(ids):.2f} s, build {build:.2f} s (median); the workers "
                      f"got {cpu / seconds:.2f} cores", flush=True)
            finally:
                workers.stop()
        db.session.execute(db.delete(MonthEndPart))
        db.session.commit()
    results["workers_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if not args.skip_single:
        results["bare"] = run_child("bare", url, month)
        print(f"bare 2,000-row table: {results['bare']['seconds']:.1f} s, "
              f"{results['bare']['pages']} pages, {results['bare']['maxrss_mb']:.0f} MB",
              flush=True)
        results["single"] = run_child("single", url, month)
        print(f"brand summary, one process: {results['single']['seconds']:.1f} s, "
              f"{results['single']['pages']} pages, {results['single']['maxrss_mb']:.0f} MB",
              flush=True)
    results["load_end"] = os.getloadavg()[0]
    queue.delete(delete_jobs=True)

    print(f"\nMonth-end, month {month}; load average {results['load_start']:.1f} → "
          f"{results['load_end']:.1f} on {cores} cores")
    if "bare" in results and "brand_2" in results:
        bare = results["bare"]["seconds"]
        for key in ("single", "brand_1", "brand_2"):
            if key in results:
                print(f"  brand summary {key}: {results[key]['seconds']:.1f} s = "
                      f"{results[key]['seconds'] / bare:.2f} × the bare table ({bare:.1f} s)")
        print(f"  goal: brand summary with 2 workers ≤ 0.7 × the bare table: "
              f"{'met' if results['brand_2']['seconds'] <= 0.7 * bare else 'NOT met'}")
    if "stores_1" in results and "stores_2" in results:
        factor = results["stores_2"]["per_s"] / results["stores_1"]["per_s"]
        print(f"  store PDFs: {results['stores_1']['per_s']:.2f} /s with 1 worker, "
              f"{results['stores_2']['per_s']:.2f} /s with 2: × {factor:.2f} "
              f"(goal ≥ 1.7: {'met' if factor >= 1.7 else 'NOT met'}); CPU per PDF "
              f"{results['stores_1']['cpu_per_pdf_s']:.2f} s and "
              f"{results['stores_2']['cpu_per_pdf_s']:.2f} s")
    job_peak = max(v.get("peak_mb", 0) for v in results.values() if isinstance(v, dict))
    print(f"  peak memory: per job ≤ {job_peak:.0f} MB, "
          f"worker processes ≤ {results['workers_peak_mb']:.0f} MB (goal < 500 MB)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
