"""Settings for auditapp.

Every setting can come from the environment; the class picked by ``AUDITAPP_ENV``
(``development`` by default, ``production`` or ``testing``) supplies the defaults.

- ``DATABASE_URL``: SQLAlchemy URL. Default: an SQLite file in ``instance/``.
  ``postgresql://…`` URLs are used with the psycopg 3 driver.
- ``SECRET_KEY``: required in production; development makes up a fixed local one.
- ``REDIS_URL``: enables Redis for rate limits and the background job queue.
  Without it the app uses in-process fallbacks (memory limiter, synchronous jobs).
- ``REMEMBER_COOKIE_DAYS``: how long "keep me logged in" lasts (default 30).
- ``LOGIN_LIMIT_PER_ACCOUNT`` / ``LOGIN_LIMIT_PER_IP``: failed logins allowed (defaults
  "10 per 15 minutes" per account, "50 per 15 minutes" per client address).
- ``UPLOAD_FOLDER``: where photos and generated files are stored (default ``instance/files``).
- ``MAIL_SERVER`` (with ``MAIL_PORT``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``,
  ``MAIL_USE_TLS`` / ``MAIL_USE_SSL``, ``MAIL_DEFAULT_SENDER``): the SMTP server e-mail
  goes through. Without it every message is written to a file in ``instance/mail``
  (``MAIL_FILE_PATH``) instead, so one sees what would have been sent.
- ``BASE_URL``: the app's address as users reach it (``https://audit.example.com``), for
  the links in e-mails sent outside a request (CLI, jobs).
- ``AUDITAPP_INSTANCE``: the instance folder (default ``instance/`` in a source checkout,
  ``<prefix>/var/auditapp-instance`` for an installed package).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

#: The package, and the directory holding it (the repository in a source checkout).
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent


def _default_instance_dir() -> Path:
    """``instance/`` at the top of a source checkout; for an installed package (``pip
    install .``) the place Flask itself picks, ``<prefix>/var/auditapp-instance``."""
    if (SOURCE_ROOT / "pyproject.toml").is_file():
        return SOURCE_ROOT / "instance"
    return Path(sys.prefix) / "var" / "auditapp-instance"


INSTANCE_DIR = Path(os.environ.get("AUDITAPP_INSTANCE") or _default_instance_dir())


def resource_dir(name: str) -> Path:
    """``templates``, ``static`` or ``migrations``: kept at the top of the repository, and
    shipped inside the package by a build (``setup.py``), so an installed app finds them
    there."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else SOURCE_ROOT / name


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'auditapp.sqlite'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "files"))
    #: Stores per part of a long brand summary (bounds memory), and per piece of it when
    #: it is built on the job queue at month end (issue #22; 0: the same parts, so the
    #: merged PDF is the one a single process renders).
    REPORT_PART_ROWS = int(os.environ.get("REPORT_PART_ROWS") or 400)
    MONTH_END_PIECE_ROWS = int(os.environ.get("MONTH_END_PIECE_ROWS") or 0)
    #: A report worker builds one store report per language before it takes jobs, so
    #: each job it forks starts warm (``month_end_jobs.warm_up``); "0" leaves that out.
    REPORT_WORKER_WARM_UP = os.environ.get("REPORT_WORKER_WARM_UP", "1").lower() not in (
        "0", "false", "no")
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # a whole form with several photos
    MAX_PHOTO_BYTES = 10 * 1024 * 1024
    #: Photos one request may carry (the no-JavaScript form sends them all at once) and
    #: photos one visit may have; more are refused with a message before any is decoded.
    PHOTOS_PER_REQUEST = 10
    PHOTOS_PER_VISIT = 20
    #: A JSON request body to /api may be at most this large and this deeply nested.
    API_MAX_JSON_BYTES = 2 * 1024 * 1024
    API_MAX_JSON_DEPTH = 20
    #: Photos are stored no larger than this (longest side, pixels); thumbnails at THUMB.
    PHOTO_MAX_SIDE = 1600
    PHOTO_THUMB_SIDE = 320
    #: A check-in further than this from the store is flagged for HQ's review (not blocked).
    CHECKIN_MAX_DISTANCE_M = 500
    # Shoppers may spend well over an hour on a visit: tie the CSRF token to the session.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: "Keep me logged in" lasts this long (Flask-Login's default is 365 days).
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_COOKIE_DAYS") or 30))
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "zh_CN")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
        os.environ.get("REDIS_URL") or "memory://"
    )
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in each worker's memory (with a logged warning) rather than answer
    # every login with a 500; back to Redis when it answers again. Give up on an
    # unreachable Redis within a second.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    #: Failed logins allowed per account (against guessing from many addresses) and per
    #: client address (against one machine trying many accounts; an office shares one).
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes")
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "50 per 15 minutes")
    #: "Forgot password": links asked for per client address and per account named, and
    #: how long a link works (seconds).
    PASSWORD_RESET_LIMIT_PER_IP = os.environ.get("PASSWORD_RESET_LIMIT_PER_IP",
                                                 "10 per hour")
    PASSWORD_RESET_LIMIT_PER_ACCOUNT = os.environ.get("PASSWORD_RESET_LIMIT_PER_ACCOUNT",
                                                      "3 per hour")
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE") or 3600)
    BRAND_NAME = os.environ.get("BRAND_NAME", "auditapp")
    BASE_URL = os.environ.get("BASE_URL", "")
    # Minutes between two runs of the periodic checks on the RQ queue (``jobs.periodic_job``).
    NOTIFY_PERIODIC_MINUTES = int(os.environ.get("NOTIFY_PERIODIC_MINUTES") or 15)
    # E-mail (Flask-Mailman): SMTP when MAIL_SERVER is set, else one file per message.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or ("smtp" if MAIL_SERVER else "file")
    MAIL_FILE_PATH = os.environ.get("MAIL_FILE_PATH", str(INSTANCE_DIR / "mail"))
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "").lower() in ("1", "true", "yes")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "auditapp@localhost")
    #: Seconds to wait for the SMTP server; attempts per message before it is ``failed``.
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT") or 10)
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS") or 5)
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "locmem"  # kept in memory (flask_mailman's ``mail.outbox``)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError(
                "SECRET_KEY is not set. In production set SECRET_KEY to a long random value, "
                "e.g. `export SECRET_KEY=$(python -c "
                "'import secrets; print(secrets.token_hex(32))')`."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("AUDITAPP_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"AUDITAPP_ENV={name!r} is unknown; use one of {', '.join(CONFIGS)}."
        ) from None
    if cls is ProductionConfig:
        ProductionConfig.check()
    return cls
