"""auditapp: mystery-shopper field audits rolled up into a Brand Delivery Index.

``create_app`` is the application factory (see the Flask tutorial's flaskr).

Transactions, one rule: the service modules (``submission``, ``scheduling``, ``followup``,
``visits``, ``stores``, ``questionnaires``, ``complaints``, ``settings``, ``audit``, …)
change the session and never commit. The view, CLI command or job that called them
commits once per request or command, or rolls back (a 500 is rolled back by
``main/errors.py``, and every request's session is discarded at its end). So one request
is one transaction: its changes and their audit rows (``audit.log_change``) are stored
together or not at all. A service may roll back only after a statement of its own failed
(e.g. ``submission.submit`` after a UNIQUE violation): the database has aborted the
transaction by then anyway.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a config class, a dict of overrides on top of the
    environment's config (as tests do), or None for the environment's config."""
    from .config import INSTANCE_DIR, TestingConfig, config_from_env, resource_dir

    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_path=str(INSTANCE_DIR),
    )
    if isinstance(config, type):
        app.config.from_object(config)
    elif isinstance(config, dict):
        app.config.from_object(TestingConfig if config.get("TESTING") else config_from_env())
        app.config.update(config)
    else:
        app.config.from_object(config_from_env())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from .params import IdConverter

    app.url_map.converters["int"] = IdConverter  # ids in URLs fit the INTEGER columns
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_commands(app)
    register_proxy_fix(app)
    from . import compress

    compress.init_app(app)  # gzip for pages, styles and scripts (issue #19)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Behind a reverse proxy, trust its ``X-Forwarded-*`` headers (client address for rate
    limits and logs, https scheme for secure cookies and external URLs) — but only when
    told how many proxies there are: ``PROXY_FIX_X_FOR`` (config or environment, e.g. 1).
    ``PROXY_FIX_X_PROTO`` (default: the same), ``PROXY_FIX_X_HOST`` and
    ``PROXY_FIX_X_PREFIX`` (default 0) tune the other headers. Without the setting the
    headers are ignored, so a client cannot forge its address."""

    def setting(name: str, default: int) -> int:
        value = app.config.get(name, os.environ.get(name))
        return int(value) if value not in (None, "") else default

    x_for = setting("PROXY_FIX_X_FOR", 0)
    if x_for <= 0:
        return
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app,
        x_for=x_for,
        x_proto=setting("PROXY_FIX_X_PROTO", x_for),
        x_host=setting("PROXY_FIX_X_HOST", 0),
        x_prefix=setting("PROXY_FIX_X_PREFIX", 0),
    )


def register_extensions(app: Flask) -> None:
    from . import i18n, jobs, security
    from .config import resource_dir
    from .extensions import (
        babel,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
        migrate,
        use_sqlite_wal,
    )
    from .storage import init_storage

    db.init_app(app)
    with app.app_context():
        use_sqlite_wal(db.engine)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    login_manager.init_app(app)
    security.init_app(app)
    init_storage(app)
    mail.init_app(app)
    jobs.init_mail_delivery()


def register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .hq import bp as hq_bp
    from .main import bp as main_bp
    from .manager import bp as manager_bp
    from .shopper import bp as shopper_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(shopper_bp, url_prefix="/shopper")
    app.register_blueprint(manager_bp, url_prefix="/manager")
    app.register_blueprint(hq_bp, url_prefix="/hq")
    app.register_blueprint(api_bp, url_prefix="/api")


def register_template_helpers(app: Flask) -> None:
    from . import i18n, item_types, months, questionnaires, scoring
    from .models import followup, month_end, questionnaire, visit

    i18n.init_template_helpers(app)
    # the codes templates compare with (``visit.status == DISPUTED``), never bare strings
    app.jinja_env.globals.update(
        SUBMITTED=visit.SUBMITTED, RETURNED=visit.RETURNED, DISPUTED=visit.DISPUTED,
        REJECTED=visit.REJECTED, MYSTERY=visit.MYSTERY, QA=visit.QA,
        ACTION_OPEN=followup.ACTION_OPEN, ACTION_DONE=followup.ACTION_DONE,
        DISPUTE_UPHELD=followup.DISPUTE_UPHELD,
        DRAFT=questionnaire.DRAFT, PUBLISHED=questionnaire.PUBLISHED,
        PART_DONE=month_end.PART_DONE,
        YESNO=scoring.YESNO, SCALE7=scoring.SCALE7, TIMED=scoring.TIMED,
        item_type=item_types.of, answer_text=item_types.answer_text,
        when_text=questionnaires.when_text,
        is_provisional=months.is_provisional,
    )


def register_errorhandlers(app: Flask) -> None:
    from .main.errors import init_app as init_errors

    init_errors(app)


def register_commands(app: Flask) -> None:
    from .cli import init_app as init_cli

    init_cli(app)
