"""The settings a deployment starts with: ``config.py`` at the top of the repository picks
the class named by ``AUDITAPP_ENV``, and ``wsgi.py`` (what gunicorn and ``flask --app
wsgi`` load) starts the app with it. Run as an operator would: a fresh process in the
repository, with only environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = ("import wsgi; c = wsgi.app.config; "
        "print(c['SESSION_COOKIE_SECURE'], c['SQLALCHEMY_DATABASE_URI'], c['BRAND_NAME'])")


def run_wsgi(tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("AUDITAPP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**base, "AUDITAPP_INSTANCE": str(tmp_path / "instance"), **env})


def test_production_runs_with_the_environments_settings(tmp_path):
    db = f"sqlite:///{tmp_path / 'prod.sqlite'}"
    r = run_wsgi(tmp_path, AUDITAPP_ENV="production", SECRET_KEY="x" * 64, DATABASE_URL=db,
                 BRAND_NAME="茶百道")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", db, "茶百道"]


def test_development_is_the_default_and_keeps_its_database_in_the_instance_folder(tmp_path):
    r = run_wsgi(tmp_path)
    assert r.returncode == 0, r.stderr
    secure, url, _brand = r.stdout.split()
    assert secure == "False" and url == f"sqlite:///{tmp_path / 'instance' / 'auditapp.sqlite'}"


def test_production_without_a_secret_key_says_how_to_make_one(tmp_path):
    r = run_wsgi(tmp_path, AUDITAPP_ENV="production")
    assert r.returncode != 0
    assert "SECRET_KEY is not set" in r.stderr and "secrets.token_hex(32)" in r.stderr


def test_an_unknown_environment_name_is_refused_with_the_names_it_knows(tmp_path):
    r = run_wsgi(tmp_path, AUDITAPP_ENV="staging")
    assert r.returncode != 0
    assert "AUDITAPP_ENV='staging' is unknown; use one of development, testing, production" \
        in r.stderr
