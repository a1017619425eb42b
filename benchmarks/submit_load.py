"""End-of-month submission load: every shopper submits at once. Run by hand from the
repository root (one command, prints its figures):

    .venv/bin/python benchmarks/submit_load.py                  # PostgreSQL, then SQLite
    .venv/bin/python benchmarks/submit_load.py --only postgres --workers 5 --threads 1

For each database it

1. makes a fresh scratch database (PostgreSQL ``auditapp_load`` on 127.0.0.1:5432, dropped
   and re-created; SQLite ``/tmp/auditapp-bench/load.sqlite``, deleted and re-created),
   migrates it and fills it with ``generate_chain(stores, 1 month)`` plus one open
   assignment per store in the current month, each with its link token
   (``generate_chain(assign_month=…)``);
2. starts the app under gunicorn (``gunicorn -c gunicorn.conf.py wsgi:app``,
   ``AUDITAPP_ENV=production``) on a free port of 127.0.0.1, in its own process group;
3. sends ``--requests`` complete, valid submissions to ``POST
   /api/shopper/visits/<id>/submit`` (``Authorization: Bearer <token>``, a fresh
   ``client_submission_id`` each) from ``--concurrency`` client threads over keep-alive
   ``http.client`` connections (closed loop; stops after ``--max-seconds``);
4. checks in the database that every acknowledged submission arrived exactly once
   (submitted visits, client ids, answers, ``audit_log`` rows), re-sends a sample with the
   same client ids (each must answer ``duplicate: true`` and change nothing);
5. stops gunicorn (also on errors and Ctrl-C) and prints a table.

Fault tests (issue #13): ``--kill-worker-at S`` sends ``kill -9`` to one gunicorn worker S
seconds into the load; ``--db-outage-at S`` takes the PostgreSQL database away for
``--db-outage-seconds`` (``ALTER DATABASE … ALLOW_CONNECTIONS false`` and
``pg_terminate_backend`` of its connections, then allowed again). Both imply ``--retry``:
a request that got no answer or a 5xx is sent again with the same body (the same
``client_submission_id``), as the shopper app's offline queue does, until it is
acknowledged. The check is then that every submission ended acknowledged, stored exactly
once, whatever was cut off. ``--rate`` paces the load (submissions/s over all client
threads) so that a small load lasts long enough for the faults::

    .venv/bin/python benchmarks/submit_load.py --only postgres \
        --postgres postgresql://postgres@127.0.0.1:5432/auditapp_faults \
        --stores 600 --requests 600 --workers 2 --threads 2 --concurrency 4 --rate 40 \
        --kill-worker-at 4 --db-outage-at 9 --db-outage-seconds 3

Nothing leaves 127.0.0.1. The load generator runs on the same machine as gunicorn and
the database, so it takes part of the CPU: the table shows how the CPU time was shared.
Goal: ≥ 200 submissions/s, p95 ≤ 150 ms, none lost.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATE, GOAL_P95_MS = 200.0, 150.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/auditapp_load"
HOST = "127.0.0.1"

# --- the payload (no side effects at import: tests/test_benchmark_submit_load.py uses it) ---

#: (item id, item type, allow N/A) of a questionnaire, in any order.
@dataclass(frozen=True)
class FormItem:
    """An item as the payload builder needs it (and ``conditions.visible`` reads it)."""

    id: int
    item_type: str
    allow_na: bool
    code: str = ""
    config: dict | None = None
    condition: dict | None = None
    dim_condition: dict | None = None
    require_photo: bool = False
    timed_targets: dict | None = None

    def __iter__(self):  # (id, type, allow_na), as before
        return iter((self.id, self.item_type, self.allow_na))


def form_items(session, questionnaire_id: int) -> list[FormItem]:
    """The questionnaire's items as the payload builder needs them (one query), in
    questionnaire order."""
    from sqlalchemy import select

    from auditapp.models import Dimension, Item

    rows = session.execute(
        select(Item.id, Item.item_type, Item.allow_na, Item.code, Item.config, Item.condition,
               Dimension.condition, Item.require_photo)
        .join(Dimension, Item.dimension_id == Dimension.id)
        .where(Dimension.questionnaire_id == questionnaire_id)
        .order_by(Dimension.position, Dimension.id, Item.position, Item.id)
    ).all()
    return [FormItem(int(i), str(t), bool(na), code, config, cond, dim_cond, bool(photo))
            for i, t, na, code, config, cond, dim_cond, photo in rows]


def _value(item: FormItem, rng: random.Random):
    if item.item_type == "yesno":
        # no photo files in this benchmark: an item that needs a photo when "No" is "Yes"
        return 1 if item.require_photo or rng.random() < 0.85 else 0
    if item.item_type == "scale7":
        return rng.choice((-30, 0, 30, 60, 60, 90))
    if item.item_type == "timed":
        return rng.randrange(30, 400)
    if item.item_type == "number":
        lo, hi = item.config["lo"], item.config["hi"]
        return round(rng.uniform(lo, hi), 1) if item.require_photo or rng.random() < 0.9 \
            else hi + 1
    if item.item_type == "choice":
        return rng.randrange(len(item.config["options"]))
    if item.item_type == "text":
        return "少了薯条 / the fries were missing"
    raise ValueError(f"no benchmark answer for a {item.item_type} item")


def build_payload(items: Iterable[FormItem], client_id: str, rng: random.Random,
                  visit_date: date, visit_type: str = "drive_thru",
                  kind: str = "mystery") -> dict:
    """A complete, valid submission as the shopper form sends it (docs/API.md): every item
    the visit asks answered (a few N/A where allowed; conditions.py decides which are
    asked), all facts filled in."""
    from auditapp import conditions, item_types

    answers: dict[str, dict] = {}
    given: dict[str, dict] = {}
    specs = []
    for item in items:
        if not isinstance(item, FormItem):
            item = FormItem(*item)
        if item.item_type in ("info", "photo"):
            continue  # only read / no photo files in this benchmark
        specs.append({"code": item.code or str(item.id), "show": item.condition,
                      "dim_show": item.dim_condition,
                      "fail": item_types.get(item.item_type).fail_rule(item, visit_type)})
        if item.allow_na and rng.random() < 0.05:
            answers[str(item.id)] = {"value": None, "na": True, "comment": ""}
        else:
            value = _value(item, rng)
            comment = "服务员没有微笑 / no smile" if value == 0 else ""
            answers[str(item.id)] = {"value": value, "na": False, "comment": comment}
        given[item.code or str(item.id)] = answers[str(item.id)]
    shown = conditions.visible(specs, given, visit_type, kind)
    codes = {str(item.id): item.code or str(item.id) for item in items}
    answers = {key: a for key, a in answers.items() if codes[key] in shown}
    return {
        "client_submission_id": client_id,
        "answers": answers,
        "facts": {
            "visit_date": visit_date.isoformat(),
            # a visit of an earlier day: any opening hour; of today: never after now at the
            # store (a hard rule), so just after midnight
            "arrival_time": f"{rng.randrange(10, 21):02d}:{rng.randrange(60):02d}"
            if visit_date < datetime.now(UTC).date() else f"00:{rng.randrange(60):02d}",
            "visit_type_confirmed": True,
            "order_description": "巨无霸套餐 Combo meal + drink",
            "receipt_total": round(rng.uniform(25, 80), 2),
            "overall_comment": "Clean, quick and friendly 干净快捷",
        },
    }


def new_client_id() -> str:
    return str(uuid.uuid4())


# --- the scratch database -------------------------------------------------------------------


@dataclass
class Assignment:
    visit_id: int
    token: str
    body: bytes
    client_id: str
    #: How many answers the body holds (the items its visit asks: conditions.py).
    answers: int = 0


def prepare_database(url: str, stores: int) -> None:
    """A fresh database at ``url``: schema, chain, current-month assignments."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from auditapp import create_app
    from auditapp.config import normalise_database_url
    from auditapp.extensions import db
    from auditapp.generate import generate_chain

    url = normalise_database_url(url)
    if url.startswith("postgresql"):
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        admin = sa.create_engine(urlunsplit(parts._replace(path="/postgres")),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        today = datetime.now(UTC).date()
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        summary = generate_chain(stores, 1, last_month=last_month,
                                 assign_month=today.replace(day=1))
        db.session.commit()
        print(f"  {summary['stores']} stores, {summary['shoppers']} shoppers, "
              f"{summary['mystery_visits']} released visits ({summary['months'][0]}), "
              f"{summary['assigned']} open assignments in {today:%Y-%m} "
              f"({summary['seconds']:.1f} s)", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        db.session.remove()
        db.engine.dispose()


def load_assignments(url: str, count: int, seed: int = 7) -> list[Assignment]:
    """The current month's open assignments with a ready request body each."""
    from sqlalchemy import select

    from auditapp import create_app
    from auditapp.config import normalise_database_url
    from auditapp.extensions import db
    from auditapp.models import Visit

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    out: list[Assignment] = []
    with app.app_context():
        rows = db.session.execute(
            select(Visit.id, Visit.access_token, Visit.questionnaire_id, Visit.visit_type,
                   Visit.kind)
            .where(Visit.month == f"{today:%Y-%m}", Visit.status == "assigned",
                   Visit.access_token.is_not(None))
            .order_by(Visit.id).limit(count)
        ).all()
        forms: dict[int, list[FormItem]] = {}
        for visit_id, token, qid, visit_type, kind in rows:
            if qid not in forms:
                forms[qid] = form_items(db.session, qid)
            client_id = new_client_id()
            payload = build_payload(forms[qid], client_id, rng, today, visit_type, kind)
            body = json.dumps(payload).encode()
            out.append(Assignment(visit_id, token, body, client_id, len(payload["answers"])))
        db.session.remove()
        db.engine.dispose()
    return out


@dataclass
class Counts:
    submitted: int
    with_client_id: int
    audit_rows: int
    audit_visits: int
    answers: int
    items: int


def count_in_db(url: str, assignments: Sequence[Assignment]) -> Counts:
    """What the database holds for these assignments."""
    from sqlalchemy import func, select

    from auditapp import create_app
    from auditapp.config import normalise_database_url
    from auditapp.extensions import db
    from auditapp.models import Answer, AuditLog, Visit

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    ids = [a.visit_id for a in assignments]
    by_id = {a.visit_id: a.client_id for a in assignments}
    with app.app_context():
        submitted = with_client = audit_rows = audit_visits = answers = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = db.session.execute(
                select(Visit.id, Visit.client_submission_id)
                .where(Visit.id.in_(chunk), Visit.status == "submitted")
            ).all()
            submitted += len(rows)
            with_client += sum(1 for vid, cid in rows if by_id[vid] == cid)
            n, distinct = db.session.execute(
                select(func.count(AuditLog.id), func.count(func.distinct(AuditLog.entity_id)))
                .where(AuditLog.entity == "visit", AuditLog.action == "submit",
                       AuditLog.entity_id.in_([str(i) for i in chunk]))
            ).one()
            audit_rows += n
            audit_visits += distinct
            answers += db.session.scalar(
                select(func.count(Answer.id)).where(Answer.visit_id.in_(chunk))) or 0
        items = len(form_items(db.session, db.session.get(Visit, ids[0]).questionnaire_id)) \
            if ids else 0
        db.session.remove()
        db.engine.dispose()
    return Counts(submitted, with_client, audit_rows, audit_visits, answers, items)


# --- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """gunicorn in its own process group; ``stop()`` ends the whole group."""

    def __init__(self, url: str, workers: int, threads: int, log_dir: Path) -> None:
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.error_log = log_dir / "gunicorn-error.log"
        env = {
            **os.environ,
            "AUDITAPP_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": url,
            "AUDITAPP_INSTANCE": str(log_dir / "instance"),
            "UPLOAD_FOLDER": str(log_dir / "files"),
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": str(log_dir / "gunicorn-access.log"),
            "GUNICORN_ERROR_LOG": str(self.error_log),
            "LOG_LEVEL": "warning",
        }
        env.pop("REDIS_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.error_log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok and len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its live workers."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in (self.proc.pid, *self.worker_pids()):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# --- the load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    ok_ids: set[int] = field(default_factory=set)
    duplicates: int = 0
    samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    not_sent: int = 0
    #: Jobs sent again after no answer or a 5xx (``retry``), and how many of those were
    #: acknowledged in the end.
    retried: set[int] = field(default_factory=set)
    recovered: int = 0


def submit_all(port: int, jobs: Sequence[Assignment], concurrency: int,
               max_seconds: float, keepalive: bool = True, retry: bool = False,
               rate: float = 0.0) -> Outcome:
    """Send every job once from ``concurrency`` threads (keep-alive connections); closed
    loop: each thread sends its next request when the previous answer arrived. ``retry``:
    a job that got no answer or a 5xx is sent again (same body) until it gets another
    answer or the time is up. ``rate``: at most this many requests per second in all."""
    out = Outcome()
    lock = threading.Lock()
    queue = iter(jobs)
    deadline = time.monotonic() + max_seconds
    pace = {"next": time.monotonic()}
    retry_queue: list[Assignment] = []

    def next_job() -> Assignment | None:
        with lock:
            job = retry_queue.pop(0) if retry_queue else next(queue, None)
            if rate > 0:
                slot = max(time.monotonic(), pace["next"])
                pace["next"] = slot + 1 / rate
            else:
                slot = 0.0
        if job is not None and slot:
            time.sleep(max(0.0, slot - time.monotonic()))
        return job

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < deadline:
            job = next_job()
            if job is None:
                break
            headers = {"Content-Type": "application/json",
                       "Authorization": f"Bearer {job.token}"}
            if not keepalive:
                headers["Connection"] = "close"
            started = time.perf_counter()
            try:
                conn.request("POST", f"/api/shopper/visits/{job.visit_id}/submit",
                             body=job.body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = str(resp.status)
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                status, data = type(exc).__name__, b""
            latency = time.perf_counter() - started
            with lock:
                out.latencies.append(latency)
                out.statuses[status] = out.statuses.get(status, 0) + 1
                if status == "200":
                    answer = json.loads(data)
                    if answer.get("status") == "submitted":
                        out.ok_ids.add(job.visit_id)
                        out.recovered += job.visit_id in out.retried
                    out.duplicates += bool(answer.get("duplicate"))
                else:
                    if len(out.samples) < 5:
                        out.samples.append(f"{status}: {data[:200]!r}")
                    if retry and not status.startswith("4"):
                        out.retried.add(job.visit_id)
                        retry_queue.append(job)
            if status != "200" and retry:
                time.sleep(0.2)  # a moment before this thread's next request
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 60)
    out.elapsed = time.perf_counter() - started
    out.not_sent = len(jobs) - len(out.latencies) if not retry else \
        len({j.visit_id for j in jobs} - out.ok_ids)
    return out


class Faults(threading.Thread):
    """Injects the faults asked for, at their times after ``start()``; ``events`` says what
    was done when (seconds into the load)."""

    def __init__(self, server: Server, url: str, args: argparse.Namespace) -> None:
        super().__init__(daemon=True)
        self.server, self.url, self.args = server, url, args
        self.events: list[str] = []
        self.started = 0.0

    def _log(self, what: str) -> None:
        line = f"{time.monotonic() - self.started:5.1f} s: {what}"
        self.events.append(line)
        print(f"  fault {line}", flush=True)

    def run(self) -> None:
        self.started = time.monotonic()
        plan = []
        if self.args.kill_worker_at is not None:
            plan.append((self.args.kill_worker_at, self.kill_worker))
        if self.args.db_outage_at is not None:
            plan.append((self.args.db_outage_at, self.db_outage))
        for at, action in sorted(plan, key=lambda p: p[0]):
            time.sleep(max(0.0, self.started + at - time.monotonic()))
            action()

    def kill_worker(self) -> None:
        pids = self.server.worker_pids()
        if not pids:
            self._log("no worker to kill")
            return
        pid = random.Random(5).choice(sorted(pids))
        os.kill(pid, signal.SIGKILL)
        self._log(f"kill -9 of gunicorn worker {pid} (of {len(pids)})")

    def db_outage(self) -> None:
        from urllib.parse import urlsplit, urlunsplit

        import sqlalchemy as sa

        from auditapp.config import normalise_database_url

        parts = urlsplit(normalise_database_url(self.url))
        name = parts.path.lstrip("/")
        if name in ("test", "postgres", "template0", "template1"):
            raise SystemExit(f"refusing a database outage of {name!r}: use a scratch database")
        admin = sa.create_engine(urlunsplit(parts._replace(path="/postgres")),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name}).scalar()
            self._log(f"database {name} refuses connections; {killed} connections terminated")
            time.sleep(self.args.db_outage_seconds)
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            self._log(f"database {name} accepts connections again "
                      f"(after {self.args.db_outage_seconds:g} s)")
        admin.dispose()


def warm_up(port: int, jobs: Sequence[Assignment], workers: int) -> None:
    """A few reads per worker (``GET`` the assignment) so the first submissions do not pay
    for each worker's first connection and first queries."""
    for job in list(jobs)[: workers * 4]:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.request("GET", f"/api/shopper/visits/{job.visit_id}",
                     headers={"Authorization": f"Bearer {job.token}"})
        conn.getresponse().read()
        conn.close()


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def postgres_cpu() -> float:
    """User + system CPU seconds of the live PostgreSQL processes (all databases)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Result:
    name: str
    requests: int
    rate: float
    p50: float
    p95: float
    p99: float
    errors: int
    lost: int
    exactly_once: bool
    resend_ok: str
    cpu: str
    notes: list[str]


def run_one(name: str, url: str, args: argparse.Namespace) -> Result:
    print(f"\n== {name}: {url}", flush=True)
    prepare_database(url, args.stores)
    jobs = load_assignments(url, args.requests)
    print(f"  {len(jobs)} submissions prepared ({len(jobs[0].body) if jobs else 0} bytes "
          f"each); gunicorn {args.workers} worker(s) × {args.threads} thread(s), "
          f"{args.concurrency} client threads", flush=True)
    server = Server(url, args.workers, args.threads, Path(args.scratch) / f"gunicorn-{name}")
    notes: list[str] = []
    try:
        server.wait_ready(args.workers)
        warm_up(server.port, jobs[::-1], args.workers)
        busy0, total0 = machine_busy()
        client0, server0, pg0 = self_cpu(), server.cpu_seconds(), postgres_cpu()
        faults = Faults(server, url, args)
        if args.kill_worker_at is not None or args.db_outage_at is not None:
            faults.start()
        out = submit_all(server.port, jobs, args.concurrency, args.max_seconds,
                         keepalive=not args.no_keepalive, retry=args.retry, rate=args.rate)
        if faults.is_alive():
            faults.join()
        notes.extend(f"fault at {event}" for event in faults.events)
        busy1, total1 = machine_busy()
        client_cpu, server_cpu = self_cpu() - client0, server.cpu_seconds() - server0
        pg_cpu = postgres_cpu() - pg0 if url.startswith("postgres") else 0.0
        ncpu = os.cpu_count() or 1
        machine = (busy1 - busy0) / max(1, total1 - total0) * 100
        wall = out.elapsed
        rest = (busy1 - busy0) / os.sysconf("SC_CLK_TCK") - server_cpu - client_cpu - pg_cpu
        ok_count = max(1, out.statuses.get("200", 0))
        cpu = (f"machine busy {machine:.0f}% of {ncpu} cores for {wall:.1f} s = "
               f"{wall * ncpu:.1f} core-s: gunicorn {server_cpu:.1f} s "
               f"({server_cpu / ok_count * 1000:.1f} ms/request), PostgreSQL {pg_cpu:.1f} s "
               f"({pg_cpu / ok_count * 1000:.1f} ms/request), load generator {client_cpu:.1f} s, "
               f"other processes on the machine {max(0.0, rest):.1f} s")
        sent = [j for j in jobs if j.visit_id in out.ok_ids]
        # re-send a sample with the same client ids: each must be a duplicate
        sample = random.Random(3).sample(sent, min(args.resend, len(sent)))
        before = count_in_db(url, jobs)
        again = submit_all(server.port, sample, min(args.concurrency, 8), args.max_seconds)
        after = count_in_db(url, jobs)
    finally:
        server.stop()
    if server.proc.returncode not in (0, -signal.SIGTERM):
        notes.append(f"gunicorn exit code {server.proc.returncode}")
    ok = out.statuses.get("200", 0)
    errors = len(out.latencies) - ok
    lost = len(out.ok_ids) - before.with_client_id
    if args.retry:  # every submission must end acknowledged
        lost += len({j.visit_id for j in jobs} - out.ok_ids)
    exactly_once = (
        before.submitted == before.with_client_id == before.audit_rows == before.audit_visits
        == len(out.ok_ids)
        and before.answers == sum(j.answers for j in jobs)
        and after == before
    )
    resend = (f"{again.duplicates}/{len(sample)} duplicate:true"
              + ("" if after == before else ", DATABASE CHANGED"))
    if out.samples:
        notes.append("first errors: " + " | ".join(out.samples))
    if again.samples:
        notes.append("re-send errors: " + " | ".join(again.samples))
    if out.not_sent:
        notes.append(f"{out.not_sent} not sent (or, with --retry, never acknowledged) "
                     f"within {args.max_seconds:.0f} s")
    if args.retry:
        notes.append(f"{len(out.retried)} submissions sent again after no answer or a 5xx, "
                     f"{out.recovered} of them acknowledged in the end; "
                     f"{out.duplicates} answers were duplicate:true (already stored)")
    print(f"  responses: {dict(sorted(out.statuses.items()))} in {out.elapsed:.2f} s", flush=True)
    print(f"  database: {before.submitted} submitted visits, {before.with_client_id} with their "
          f"client id, {before.audit_rows} submit audit rows for {before.audit_visits} visits, "
          f"{before.answers} answers ({before.items} per visit)", flush=True)
    print(f"  re-sent {len(sample)}: {resend}", flush=True)
    print(f"  CPU: {cpu}", flush=True)
    for note in notes:
        print(f"  note: {note}", flush=True)
    return Result(
        name=name, requests=len(out.latencies), rate=ok / out.elapsed if out.elapsed else 0,
        p50=percentile(out.latencies, 50) * 1000, p95=percentile(out.latencies, 95) * 1000,
        p99=percentile(out.latencies, 99) * 1000, errors=errors, lost=lost,
        exactly_once=exactly_once, resend_ok=resend, cpu=cpu, notes=notes,
    )


def print_table(results: Sequence[Result], args: argparse.Namespace) -> None:
    kind = "gthread" if args.threads > 1 else "sync"
    conns = "new connection per request" if args.no_keepalive else "keep-alive"
    print(f"\nEnd-of-month submissions: {args.stores} stores, gunicorn {args.workers} {kind} "
          f"worker(s) × {args.threads} thread(s), {args.concurrency} client connections "
          f"({conns}), "
          f"{os.cpu_count()} CPU cores shared by gunicorn, database and load generator "
          f"(load average now {os.getloadavg()[0]:.1f})")
    head = (f"{'database':<11}{'sent':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
            f"{'errors':>8}{'lost':>6}  exactly once")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r.name:<11}{r.requests:>6}{r.rate:>8.0f}{r.p50:>8.1f}{r.p95:>8.1f}"
              f"{r.p99:>8.1f}{r.errors:>8}{r.lost:>6}  {'yes' if r.exactly_once else 'NO'}"
              f" (re-send: {r.resend_ok})")
    for r in results:
        met = r.rate >= GOAL_RATE and r.p95 <= GOAL_P95_MS and r.lost == 0 and r.errors == 0
        print(f"{r.name}: goal ≥ {GOAL_RATE:.0f}/s, p95 ≤ {GOAL_P95_MS:.0f} ms, 0 lost: "
              f"{'met' if met else 'NOT met'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("postgres", "sqlite"), help="one database only")
    parser.add_argument("--postgres", default=DEFAULT_PG,
                        help="scratch PostgreSQL database (dropped and re-created!)")
    parser.add_argument("--scratch", default=os.environ.get("AUDITAPP_BENCH_DIR",
                                                            "/tmp/auditapp-bench"))
    parser.add_argument("--stores", type=int, default=2000, help="stores = assignments")
    parser.add_argument("--requests", type=int, default=2000, help="submissions to send")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--workers", type=int, default=3,
                        help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=4,
                        help="gunicorn threads per worker (GUNICORN_THREADS; 1 = sync workers)")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="a new connection per request (as nginx's proxy_pass does "
                             "without upstream keepalive)")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--resend", type=int, default=200, help="client ids to re-send")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="at most this many submissions/s in all (0: as fast as answered)")
    parser.add_argument("--retry", action="store_true",
                        help="send a submission again (same client id) after no answer or "
                             "a 5xx, until it is acknowledged")
    parser.add_argument("--kill-worker-at", type=float, metavar="S",
                        help="kill -9 one gunicorn worker S seconds into the load")
    parser.add_argument("--db-outage-at", type=float, metavar="S",
                        help="PostgreSQL refuses connections S seconds into the load")
    parser.add_argument("--db-outage-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.kill_worker_at is not None or args.db_outage_at is not None:
        args.retry = True
    if args.db_outage_at is not None and args.only != "postgres":
        parser.error("--db-outage-at needs --only postgres")
    if args.requests > args.stores:
        parser.error("--requests cannot exceed --stores (one assignment per store)")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("AUDITAPP_INSTANCE", str(Path(args.scratch) / "instance"))
    targets = []
    if args.only in (None, "postgres"):
        targets.append(("PostgreSQL", args.postgres))
    if args.only in (None, "sqlite"):
        targets.append(("SQLite", f"sqlite:///{Path(args.scratch) / 'load.sqlite'}"))
    results = [run_one(name, url, args) for name, url in targets]
    print_table(results, args)
    return 0 if all(r.exactly_once and r.lost == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
