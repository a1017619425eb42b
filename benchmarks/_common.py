"""Shared set-up for the benchmarks: scratch databases holding a generated chain.

The benchmarks run by hand (never in the test suite). By default they use
``/tmp/auditapp-bench/bench.sqlite`` and the PostgreSQL database ``auditapp_bench`` on
``127.0.0.1:5432``; the data set (``auditapp.generate``) is made on first use and kept.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("AUDITAPP_BENCH_DIR", "/tmp/auditapp-bench"))
os.environ.setdefault("AUDITAPP_INSTANCE", str(SCRATCH / "instance"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from auditapp.config import normalise_database_url  # noqa: E402

DEFAULT_SQLITE = f"sqlite:///{SCRATCH / 'bench.sqlite'}"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/auditapp_bench"
#: The benchmark data set: stores × months ending with this month.
STORES, MONTHS, LAST_MONTH = 2000, 12, date(2026, 10, 1)


def ensure_postgres_database(url: str) -> None:
    """CREATE DATABASE when it does not exist yet (connecting to ``postgres``)."""
    url = normalise_database_url(url)
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = sa.create_engine(urlunsplit(parts._replace(path="/postgres")),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def bench_app(url: str) -> Flask:
    """The app on ``url``, schema migrated to head, holding the benchmark data set."""
    from flask_migrate import upgrade

    from auditapp import create_app
    from auditapp.extensions import db
    from auditapp.generate import generate_chain
    from auditapp.models import Store

    if url.startswith(("postgres://", "postgresql")):
        ensure_postgres_database(url)
    else:
        SCRATCH.mkdir(parents=True, exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    with app.app_context():
        upgrade()  # also applies new index migrations to an existing scratch database
        count = db.session.scalar(sa.select(sa.func.count(Store.id)))
        if not count:
            print(f"  generating {STORES} stores × {MONTHS} months into {url} …", flush=True)
            summary = generate_chain(STORES, MONTHS, last_month=LAST_MONTH)
            db.session.commit()
            print(f"  generated in {summary['seconds']:.1f} s: {summary['mystery_visits']} "
                  f"visits, {summary['answers']} answers, {summary['complaints']} complaints",
                  flush=True)
        elif count != STORES:
            print(f"  note: {url} holds {count} stores, not {STORES}", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))  # what autovacuum does soon after a load
        db.session.remove()
    return app


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def side_by_side(fns: dict[str, Callable[[], object]], repeat: int,
                 warmup: int = 2) -> dict[str, float]:
    """Median seconds of each function, calls interleaved so both see the same machine."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            samples[name].extend(timed(fn, 1))
    return {name: statistics.median(values) for name, values in samples.items()}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"
