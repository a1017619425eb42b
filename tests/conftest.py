"""Test fixtures, flaskr style: a fresh app and database for every test.

The database is SQLite by default. Set ``AUDITAPP_TEST_DATABASE_URL`` to a PostgreSQL URL
(e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run the same suite on PostgreSQL:
a fresh database is created for the run and dropped at the end.

What makes a test cheap (the suite runs twice in CI, once per database, and every test
runs on both), none of it changing what a test sees:

- SQLite: the empty schema is built once per run and every test gets a copy of the file
  (creating the tables costs more than most tests). PostgreSQL: the schema is built once
  per run and emptied after every test with DELETE (TRUNCATE of every table costs
  about a second a test).
- Commits do not wait for the disk: SQLite with ``synchronous=OFF`` (the app's own is
  FULL), PostgreSQL with ``synchronous_commit = off`` (a setting of the test database).
  Only durability across a power cut differs, which no test looks at.
- Passwords are hashed with the production scheme at its lowest cost (factories.py's
  ``TEST_PASSWORD_METHOD``); ``@pytest.mark.real_password_hashing`` keeps the real cost.
- Data sets that take seconds to make (the demo chain) are made once per run and copied
  into the tests' databases (``load_dataset``).
- Jinja's compiled templates are shared by the run's test apps (``TEMPLATE_CODE``).
- Werkzeug compiles a URL builder for every route of every new app; the compiled
  builders are shared by the apps of the run (they depend only on the rule).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from auditapp import create_app
from auditapp.config import normalise_database_url
from auditapp.extensions import db

from .factories import TEST_PASSWORD_METHOD, Chain, make_chain

PG_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL", "").strip()


def _share_route_builders() -> None:
    """Every ``create_app`` compiles (ast + compile) two URL builder functions per route,
    about 0.3 s an app. A builder depends only on its rule (the rule object comes in as an
    argument), so compile each once per run and let the next apps reuse it."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another Werkzeug: just pay the compile
        return
    builders: dict = {}

    def shared(self, append_unknown: bool = True):
        defaults = repr(sorted((self.defaults or {}).items()))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = shared


_share_route_builders()


def pytest_sessionstart(session) -> None:
    """Compile the message catalogues so tests always see the current translations."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "auditapp" / "translations"
    for po_path in root.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as f:
            catalog = read_po(f)
        with po_path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)


def pytest_collection_modifyitems(config, items) -> None:
    """The PostgreSQL run runs only the tests whose result can depend on the database:

    - not those that use no database (no ``database_url``, which ``app`` and every fixture
      built on it asks for): the pure scoring functions, the catalogues, the wheel (which
      installs with its own SQLite);
    - not those marked ``markup_only``: axe and the reflow check read the HTML and CSS of
      pages that are the same whatever the database (the PostgreSQL run still renders
      every page, in ``test_i18n`` and ``test_access_matrix``).

    The SQLite run runs them once."""
    if not PG_URL:
        return
    once = [item for item in items if "database_url" not in item.fixturenames
            or item.get_closest_marker("markup_only")]
    if once:
        config.hook.pytest_deselected(items=once)
        left = set(once)
        items[:] = [item for item in items if item not in left]
        config.stash[_RAN_ON_SQLITE_ONLY] = len(once)


_RAN_ON_SQLITE_ONLY = pytest.StashKey[int]()


def pytest_report_header(config) -> str:
    database = "PostgreSQL (a fresh database)" if PG_URL else "SQLite (a file per test)"
    return f"auditapp tests on {database}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = config.stash.get(_RAN_ON_SQLITE_ONLY, 0)
    if skipped:
        terminalreporter.write_line(
            f"{skipped} tests that use no database, or check only markup, were left "
            "to the SQLite run.")


def _replace_db_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str | None]:
    """None for SQLite (one file per test), or the URL of a fresh PostgreSQL database."""
    if not PG_URL:
        yield None
        return
    base = normalise_database_url(PG_URL)
    name = f"auditapp_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = _replace_db_name(base, name)
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _cheap_hash(password: str) -> str:
    return generate_password_hash(password, method=TEST_PASSWORD_METHOD)


@pytest.fixture(autouse=True)
def cheap_password_hashing(request, monkeypatch) -> None:
    """The app hashes passwords (new accounts, changes, the unknown-account login) with the
    production scheme at its lowest cost, unless the test is marked real_password_hashing."""
    if request.node.get_closest_marker("real_password_hashing"):
        return
    monkeypatch.setattr("auditapp.models.user.generate_password_hash", _cheap_hash)
    monkeypatch.setattr("auditapp.auth.routes._DUMMY_HASH", _cheap_hash("not-a-real-password"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, database_url) -> Path | None:
    """SQLite: an empty database with the whole schema, made once per run; each test's
    database starts as a copy of it. None on PostgreSQL."""
    if database_url is not None:
        return None
    path = tmp_path_factory.mktemp("schema") / "template.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "UPLOAD_FOLDER": str(path.parent / "files"), "SECRET_KEY": "testing"})
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection out folds the write-ahead log into the file
    return path


def empty_postgresql_tables() -> None:
    """Delete every row and restart every id sequence. (Cheaper than TRUNCATE, which
    makes new files for every table and index: about a second a test.)"""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):  # children before parents
            conn.execute(table.delete())
        conn.execute(sa.text(  # the tests' own (not those of the data sets' schemas)
            "SELECT setval(oid, 1, false) FROM pg_class "
            "WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace"))


class _SharedTemplateCode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in memory for the run's test apps (each new app
    would parse and compile every template it renders again). Jinja checks each entry
    against the template's source."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = _SharedTemplateCode()


def _no_fsync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture
def app(tmp_path, database_url, sqlite_template) -> Iterator[Flask]:
    if database_url is None:
        shutil.copyfile(sqlite_template, tmp_path / "test.sqlite")
    uri = database_url or f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": uri,
            "UPLOAD_FOLDER": str(tmp_path / "files"),
            "SECRET_KEY": "testing",
        }
    )
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    with app.app_context():
        if database_url is None:
            sa.event.listen(db.engine, "connect", _no_fsync)
            db.engine.dispose()  # in case create_app connected already
        yield app
        db.session.remove()
        if database_url is not None:
            empty_postgresql_tables()
        db.engine.dispose()


# --- data sets made once per run -----------------------------------------------------------
# The demo chain takes seconds to seed. Each data set is made once per run (on first use)
# and copied into a test's empty database: the test sees exactly what seeding would give it.


def _seed_demo(months: int) -> Callable[[], None]:
    def seed() -> None:
        from datetime import date

        from auditapp.demo import seed_demo

        seed_demo(last_month=date(2026, 10, 1), months=months)

    return seed


DATASETS: dict[str, Callable[[], None]] = {
    "demo-2-months": _seed_demo(2),  # seed_demo(last_month=2026-10-01, months=2)
    "demo-3-months": _seed_demo(3),
}


class Datasets:
    """Made on first use: SQLite, a database file; PostgreSQL, a schema of the run's
    database (copied with INSERT … SELECT, sequences included)."""

    def __init__(self, folder: Path, database_url: str | None, sqlite_template: Path | None):
        self.folder, self.database_url, self.sqlite_template = folder, database_url, sqlite_template
        self.made: set[str] = set()

    def _where(self, name: str) -> str:
        return name.replace("-", "_")  # the SQLite file's stem or the PostgreSQL schema

    def _make(self, name: str) -> None:
        where = self._where(name)
        config = {"TESTING": True, "SECRET_KEY": "testing",
                  "UPLOAD_FOLDER": str(self.folder / where / "files")}
        if self.database_url is None:
            path = self.folder / f"{where}.sqlite"
            shutil.copyfile(self.sqlite_template, path)
            config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
        else:
            engine = sa.create_engine(self.database_url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{where}"'))
            engine.dispose()
            config["SQLALCHEMY_DATABASE_URI"] = self.database_url
            config["SQLALCHEMY_ENGINE_OPTIONS"] = {
                "connect_args": {"options": f"-c search_path={where}"}}
        app = create_app(config)
        with app.app_context(), pytest.MonkeyPatch.context() as mp:
            mp.setattr("auditapp.models.user.generate_password_hash", _cheap_hash)
            if self.database_url is not None:
                db.create_all()
            DATASETS[name]()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        self.made.add(name)

    def load(self, name: str) -> None:
        """Fill the current app's (empty) database with data set ``name``."""
        if name not in self.made:
            self._make(name)
        where = self._where(name)
        db.session.remove()
        if self.database_url is None:
            db.engine.dispose()
            target = Path(db.engine.url.database)
            for leftover in (target.with_name(target.name + "-wal"),
                             target.with_name(target.name + "-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copyfile(self.folder / f"{where}.sqlite", target)
            return
        with db.engine.begin() as conn:
            for table in db.metadata.sorted_tables:  # parents before children
                conn.execute(sa.text(
                    f'INSERT INTO public."{table.name}" SELECT * FROM "{where}"."{table.name}"'))
            sequences = conn.scalars(sa.text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": where})
            for sequence in sequences.all():
                conn.execute(sa.text(
                    f"SELECT setval('public.\"{sequence}\"', last_value, is_called) "
                    f'FROM "{where}"."{sequence}"'))


@pytest.fixture(scope="session")
def datasets(tmp_path_factory, database_url, sqlite_template) -> Datasets:
    return Datasets(tmp_path_factory.mktemp("datasets"), database_url, sqlite_template)


@pytest.fixture
def load_dataset(app: Flask, datasets: Datasets) -> Callable[[str], None]:
    """``load_dataset("demo-2-months")`` fills the test's empty database with a data set of
    DATASETS, as if the test had made it itself."""
    return datasets.load


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def chain(app: Flask) -> Chain:
    """A small chain: 2 regions, 4 stores (one Chinese name), HQ, QA, managers, shoppers
    and the default questionnaires."""
    return make_chain()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, username: str, password: str = "secret-pass"):
        return self._client.post(
            "/auth/login", data={"username": username, "password": password}
        )

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


# --- browser tests -------------------------------------------------------------------------
# A real server (threaded werkzeug, in this process) on the test's own database, driven by
# Debian's Chromium through Playwright with a phone-sized viewport.

CHROMIUM = os.environ.get("AUDITAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the test; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium, tmp_path):
    """A fresh phone-sized browser page (390×844); screenshots go to the test's tmp_path."""
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def desktop(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def browser_login(page, base_url: str, username: str, password: str = "secret-pass") -> None:
    page.goto(f"{base_url}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form [type=submit]")
    page.wait_for_load_state()


#: Set AUDITAPP_SCREENSHOTS to a folder to keep the browser tests' screenshots.
SHOTS = os.environ.get("AUDITAPP_SCREENSHOTS")


def screenshot(page, name: str, tmp_path=None) -> None:
    """A full-page screenshot into the test's tmp_path and, when asked, AUDITAPP_SCREENSHOTS."""
    filename = name if name.endswith(".png") else f"{name}.png"
    for folder in (tmp_path, SHOTS):
        if folder:
            page.screenshot(path=os.path.join(str(folder), filename), full_page=True)


def fits_viewport(page) -> bool:
    """Nothing on the page is wider than the browser window (no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
