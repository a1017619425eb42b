"""``flask reports …``: the PDF reports from the command line, for a chain to script
(issue #22), with exactly the renderers behind the app's downloads.

    flask reports visit 1024 -o visit.pdf [--with-shopper]
    flask reports store S00001 --month 2026-10 -o store.pdf
    flask reports brand --month 2026-10 -o brand.pdf
    flask reports region R01 --month 2026-10 -o region.pdf
    flask reports month-end --month 2026-10 [--sync] [--rerun-failed]

Reports are written in ``--locale`` (default: the terminal's language).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..i18n import cli_locale, cli_localised
from ..models import Region, Store, Visit

LOCALES = ("en", "zh_CN")


@click.group("reports")
def reports_group() -> None:
    """PDF reports: a visit, a store's month, the brand and a region's summary, and the
    month-end run."""


def _month(text: str):
    from ..cli import _month as parse

    return parse(text, "--month")


def _write(result: tuple[bytes, str], output: str | None) -> None:
    data, filename = result
    path = Path(output or filename)
    if output == "-":
        click.get_binary_stream("stdout").write(data)
        return
    path.write_bytes(data)
    click.echo(_("%(file)s written (%(kb)s KB).", file=str(path), kb=len(data) // 1024),
               err=True)


def _render(locale: str | None, build):
    """Run ``build()`` in a request context (templates, ``url_for``) in the report's
    language."""
    with current_app.test_request_context("/"), force_locale(locale or cli_locale()):
        return build()


_output = click.option("-o", "--output", default=None,
                       help="File to write ('-' for standard output; default: the "
                            "report's own file name).")
_locale = click.option("--locale", type=click.Choice(LOCALES), default=None,
                       help="Language of the report (default: the terminal's).")


@reports_group.command("visit")
@click.argument("visit_id", type=int)
@click.option("--with-shopper", is_flag=True,
              help="Name the shopper and check-in details (HQ's report); without it the "
                   "report is the one managers get.")
@_output
@_locale
@with_appcontext
@cli_localised
def visit_command(visit_id: int, with_shopper: bool, output: str | None,
                  locale: str | None) -> None:
    """One visit's report."""
    from .views import visit_document

    visit = db.session.get(Visit, visit_id)
    if visit is None:
        raise click.BadParameter(_("No visit %(id)s.", id=visit_id), param_hint="VISIT_ID")
    _write(_render(locale, lambda: visit_document(visit, show_shopper=with_shopper)), output)


@reports_group.command("store")
@click.argument("code")
@click.option("--month", required=True, help="YYYY-MM")
@_output
@_locale
@with_appcontext
@cli_localised
def store_command(code: str, month: str, output: str | None, locale: str | None) -> None:
    """A store's monthly report (the store by its code)."""
    from .views import store_month_document

    period = _month(month)
    store = db.session.scalar(select(Store).where(Store.code == code))
    if store is None:
        raise click.BadParameter(_("No store with the code %(code)s.", code=code),
                                 param_hint="CODE")
    _write(_render(locale, lambda: store_month_document(store, period)), output)


@reports_group.command("brand")
@click.option("--month", required=True, help="YYYY-MM")
@_output
@_locale
@with_appcontext
@cli_localised
def brand_command(month: str, output: str | None, locale: str | None) -> None:
    """The brand summary of a month (every region and store)."""
    from .pdf import brand_summary_pdf

    period = _month(month)
    _write(_render(locale, lambda: brand_summary_pdf(period)), output)


@reports_group.command("region")
@click.argument("code")
@click.option("--month", required=True, help="YYYY-MM")
@_output
@_locale
@with_appcontext
@cli_localised
def region_command(code: str, month: str, output: str | None, locale: str | None) -> None:
    """A region's summary of a month (the region by its code)."""
    from .pdf import brand_summary_pdf

    period = _month(month)
    region = db.session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise click.BadParameter(_("No region with the code %(code)s.", code=code),
                                 param_hint="CODE")
    _write(_render(locale, lambda: brand_summary_pdf(period, region)), output)


@reports_group.command("month-end")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--sync", is_flag=True,
              help="Build everything in this process even when workers listen.")
@click.option("--rerun-failed", is_flag=True, help="Start the failed parts again.")
@_locale
@with_appcontext
@cli_localised
def month_end_command(month: str, sync: bool, rerun_failed: bool,
                      locale: str | None) -> None:
    """Build every report of the month: each store's PDF, each region's and the brand
    summary — on the job queue when workers listen, else here. Running it again builds
    only what is missing or failed."""
    from .. import month_end, month_end_jobs

    period = _month(month)
    run = month_end.get_run(period.label)
    if rerun_failed and run is not None:
        with current_app.test_request_context("/"):
            started = month_end_jobs.rerun(run)
        click.echo(_("%(n)s failed part(s) started again.", n=started))
    else:
        with current_app.test_request_context("/"):
            if sync:
                run = month_end.get_or_create_run(period.label, locale=locale or cli_locale())
                db.session.commit()
                month_end_jobs.run_in_process(run.id)
            else:
                run = month_end_jobs.start(period.label, locale=locale or cli_locale())
    state = month_end.progress(run)
    click.echo(_("Month-end %(month)s: %(done)s of %(total)s parts done, %(failed)s failed, "
                 "%(remaining)s remaining.", month=period.label, done=state.done,
                 total=state.total, failed=state.failed, remaining=state.remaining))
