"""Test fixtures, flaskr style: a fresh app and database for every test.

The database is SQLite by default. Set ``AUDITAPP_TEST_DATABASE_URL`` to a PostgreSQL URL
(e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run the same suite on PostgreSQL:
a fresh database is created for the run and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from auditapp import create_app
from auditapp.extensions import db
from config import normalise_database_url

from .factories import Chain, make_chain

PG_URL = os.environ.get("AUDITAPP_TEST_DATABASE_URL", "").strip()


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


@pytest.fixture
def app(tmp_path, database_url) -> Iterator[Flask]:
    uri = database_url or f"sqlite:///{tmp_path / 'test.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": uri,
            "UPLOAD_FOLDER": str(tmp_path / "files"),
            "SECRET_KEY": "testing",
        }
    )
    with app.app_context():
        if database_url is None:
            db.create_all()
        yield app
        db.session.remove()
        if database_url is None:
            db.engine.dispose()
        else:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.engine.dispose()


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
