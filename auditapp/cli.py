"""``flask --app wsgi …`` commands: database set-up, demo data, users and BDI figures."""

from __future__ import annotations

import json
from dataclasses import replace

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import select

from . import analytics, scoring
from .extensions import db
from .i18n import (
    PROVISIONAL_LABEL,
    PROVISIONAL_NOTE,
    ROLE_LABELS,
    band_text,
    cli_localised,
    figure_text,
    fmt_interval,
    label,
)
from .models import AREA_MANAGER, MANAGER, ROLES, SHOPPER, Region, Store, User
from .months import is_provisional


def init_app(app: Flask) -> None:
    from .reports.cli import reports_group

    for command in (
        reports_group,
        init_db, seed_demo_command, create_user, bdi_command, schedule_command, generate_command,
        strip_photo_metadata_command, verify_command, notify_group,
    ):
        app.cli.add_command(command)


def _month(text: str, option: str) -> analytics.Period:
    """The month ``text`` (YYYY-MM) given to ``option``; a usage error in the terminal's
    language (the one message of ``analytics.Period.month``) if it is not a month."""
    try:
        return analytics.Period.month(text)
    except analytics.PeriodError as error:
        raise click.BadParameter(str(error), param_hint=option) from None


def _month_start(text: str | None, option: str):
    """The first day of the month given to ``option``; None if not given."""
    return _month(text, option).start if text else None


@click.command("init-db")
@with_appcontext
@cli_localised
def init_db() -> None:
    """Create or upgrade the database schema (runs the Alembic migrations)."""
    upgrade()
    click.echo(_("Database is up to date."))


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Wipe every table first (demo databases only).")
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 36))
@click.option("--last-month", default=None, help="Last demo month YYYY-MM (default: last month).")
@with_appcontext
@cli_localised
def seed_demo_command(reset: bool, months: int, last_month: str | None) -> None:
    """Fill an empty database with a believable demo chain."""
    from .demo import seed_demo

    last = _month_start(last_month, "--last-month")
    if reset:
        db.drop_all()
        db.create_all()
        _stamp_head()
    try:
        summary = seed_demo(last_month=last, months=months)
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(
        _("Demo chain ready: %(r)s regions, %(s)s stores, %(p)s shoppers, %(v)s scored visits "
          "(%(first)s … %(last)s).", r=summary["regions"], s=summary["stores"],
          p=summary["shoppers"], v=summary["visits"], first=summary["months"][0],
          last=summary["months"][-1])
    )
    click.echo(_("Log in with password 'demo1234' as: hq@example.com (HQ), qa@example.com (QA), "
                 "manager.e001@example.com (store manager), "
                 "area.east@example.com (area manager), MS-001 (shopper)."))


def _stamp_head() -> None:
    from flask_migrate import stamp

    stamp()


@click.command("create-user")
@click.option("--username", required=True, help="Email for staff, pseudonym code for shoppers.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="", help="Display name (never shown to stores for shoppers).")
@click.option("--store", "stores", multiple=True, help="Store code a manager runs (repeatable).")
@click.option("--region", "regions", multiple=True,
              help="Region code an area manager looks after (repeatable).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
@cli_localised
def create_user(username: str, role: str, name: str, stores: tuple[str, ...],
                regions: tuple[str, ...], password: str):
    """Create a user account."""
    username = username.strip()
    if not username:
        raise click.BadParameter(_("must not be empty"), param_hint="--username")
    if len(password) < 8:
        raise click.BadParameter(_("must be at least 8 characters"), param_hint="--password")
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(_("A user named %(u)s already exists.", u=repr(username)))
    if stores and role != MANAGER:
        raise click.BadParameter(_("only store managers are linked to stores"),
                                 param_hint="--store")
    found = db.session.scalars(select(Store).where(Store.code.in_(stores))).all()
    missing = sorted(set(stores) - {s.code for s in found})
    if missing:
        raise click.ClickException(_("Unknown store code(s): %(codes)s.", codes=", ".join(missing)))
    if regions and role != AREA_MANAGER:
        raise click.BadParameter(_("only area managers are given regions"),
                                 param_hint="--region")
    if role == AREA_MANAGER and not regions:
        raise click.BadParameter(_("an area manager needs at least one region"),
                                 param_hint="--region")
    given = db.session.scalars(select(Region).where(Region.code.in_(regions))).all()
    unknown = sorted(set(regions) - {r.code for r in given})
    if unknown:
        raise click.ClickException(_("Unknown region code(s): %(codes)s.",
                                     codes=", ".join(unknown)))
    user = User(username=username, name=name, role=role)
    user.set_password(password)
    user.stores.extend(found)
    user.regions.extend(given)
    db.session.add(user)
    db.session.commit()
    if role == SHOPPER:
        click.echo(_("Created shopper pseudonym %(u)s.", u=repr(username)))
    else:
        click.echo(_("Created the account %(u)s (%(role)s).",
                     role=label(ROLE_LABELS, role), u=repr(username)))


@click.command("bdi")
@click.option("--month", required=True, help="Month as YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--store", "store_codes", multiple=True, help="Only this store code (repeatable).")
@with_appcontext
@cli_localised
def bdi_command(month: str, fmt: str, store_codes: tuple[str, ...]) -> None:
    """Print each store's MS, QA, HL, BDI and band for a month."""
    period = _month(month, "--month")
    if store_codes:
        known = set(db.session.scalars(select(Store.code).where(Store.code.in_(store_codes))))
        missing = sorted(set(store_codes) - known)
        if missing:
            raise click.ClickException(
                _("Unknown store code(s): %(codes)s.", codes=", ".join(missing))
            )
    rows = analytics.store_scores(
        period, store_codes=list(store_codes) or None, include_inactive=bool(store_codes)
    )
    if store_codes:  # the rank among the whole chain, as on the dashboard
        chain = {r.code: r.rank for r in analytics.store_scores(period)}
        rows = [replace(r, rank=chain.get(r.code)) for r in rows]
    brand = analytics.brand_score(period)
    if fmt == "json":  # for programs: codes, not labels
        click.echo(
            json.dumps(
                {
                    "month": period.label,
                    "provisional": is_provisional(period),
                    "brand": {"bdi": brand.bdi, "band": brand.band,
                              "stores_scored": brand.stores_scored,
                              **analytics.reliability_json(brand)},
                    "stores": [
                        {
                            "code": r.code, "name": r.name, "region": r.region_name,
                            "ms": r.ms, "qa": r.qa, "hl": r.hl, "bdi": r.bdi, "band": r.band,
                            "rank": r.rank, "ms_visits": r.ms_visits,
                            "qa_visits": r.qa_visits, "complaints": r.complaints,
                            **analytics.reliability_json(r),
                        }
                        for r in rows
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    f = scoring.fmt_score
    click.echo(_("Brand Delivery Index %(month)s: %(bdi)s (%(band)s, %(n)s stores)",
                 month=period.label, bdi=figure_text(brand),
                 band=band_text(brand) if brand.band else _("no BDI"),
                 n=brand.stores_scored))
    if is_provisional(period):
        click.echo(f"{PROVISIONAL_LABEL}: {PROVISIONAL_NOTE}")
    rank, code, band, store = _("Rank"), _("Code"), _("Band"), _("Store")
    span, n = _("Interval (90 %)"), "n"
    header = (f"{rank:>4}  {code:<6} {'MS':>6} {'QA':>6} {'HL':>6} {'BDI':>6} {span:>13} "
              f"{n:>3}  {band:<28} {store}")
    click.echo(header)
    click.echo("-" * len(header))
    for r in rows:
        bands = band_text(r) if r.band else "-"
        click.echo(
            f"{(r.rank or '-'):>4}  {r.code:<6} {f(r.ms):>6} {f(r.qa):>6} {f(r.hl):>6} "
            f"{f(r.bdi):>6} {fmt_interval(r.interval):>13} {r.ms_visits:>3}  {bands:<28} "
            f"{r.name}"
        )


@click.command("verify")
@click.option("--month", required=True, help="Month as YYYY-MM.")
@with_appcontext
@cli_localised
def verify_command(month: str) -> None:
    """Recompute a month's visit scores and store, region and brand figures from the raw
    rows and print every difference (exit code 1 if there is any)."""
    from .verify import verify_month

    period = _month(month, "--month")
    result = verify_month(period)
    for difference in result.differences:
        click.echo(_("%(what)s: found %(found)s, recomputed %(expected)s",
                     what=difference.what, found=repr(difference.found),
                     expected=repr(difference.expected)))
    summary = _("%(month)s: checked %(v)s visits, %(s)s stores, %(r)s regions and the brand; "
                "%(n)s differences.", month=period.label, v=result.visits, s=result.stores,
                r=result.regions, n=len(result.differences))
    click.echo(summary)
    if result.snapshot:
        click.echo(_("%(month)s is closed: its stored figures (what its pages show) were "
                     "compared with the recomputation too.", month=period.label))
    if not result.ok:
        raise SystemExit(1)


@click.command("schedule")
@click.option("--month", required=True, help="Month to schedule, YYYY-MM.")
@click.option("--dry-run", is_flag=True, help="Only show what would be scheduled.")
@with_appcontext
@cli_localised
def schedule_command(month: str, dry_run: bool) -> None:
    """Generate a month's mystery-shop assignments (idempotent: re-runs add only what is
    missing, e.g. new stores)."""
    from . import scheduling

    _month(month, "--month")
    plan = scheduling.plan_month(month) if dry_run else scheduling.generate_month(month)
    db.session.commit()
    new = plan.planned
    if dry_run:
        summary = _("%(m)s: %(e)s visits already scheduled, would create %(n)s, "
                    "%(u)s not schedulable.", m=month, e=len(plan.existing), n=len(new),
                    u=len(plan.unscheduled))
    else:
        summary = _("%(m)s: %(e)s visits already scheduled, created %(n)s, "
                    "%(u)s not schedulable.", m=month, e=len(plan.existing), n=len(new),
                    u=len(plan.unscheduled))
    click.echo(summary)
    for p in new:
        click.echo(f"  + {p.store.code:<8} {p.visit_type:<10} {p.shopper.username}")
    for u in plan.unscheduled:
        click.echo(f"  ! {u.store.code:<8} {u.reason}")
    if plan.unscheduled:
        raise SystemExit(1)


@click.command("generate")
@click.option("--stores", required=True, type=click.IntRange(1, 100_000), help="How many stores.")
@click.option("--months", required=True, type=click.IntRange(1, 60), help="How many months.")
@click.option("--last-month", default=None, help="Last month YYYY-MM (default: last month).")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
@click.option("--assign-month", default=None,
              help="Also give every store an open assignment (with link token) in this "
                   "month YYYY-MM, e.g. the current month.")
@with_appcontext
@cli_localised
def generate_command(stores: int, months: int, last_month: str | None, seed: int,
                     assign_month: str | None) -> None:
    """Fill an empty database with a chain-scale data set for load and speed checks."""
    from .generate import generate_chain

    last = _month_start(last_month, "--last-month")
    assign = _month_start(assign_month, "--assign-month")
    try:
        summary = generate_chain(stores, months, last_month=last, seed=seed,
                                 assign_month=assign)
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    message = _(
        "Generated %(stores)s stores in %(regions)s regions, %(shoppers)s shoppers, "
        "%(visits)s mystery visits, %(audits)s QA audits, %(answers)s answers, "
        "%(complaints)s complaints (%(first)s … %(last)s) in %(seconds)s s.",
        stores=summary["stores"], regions=summary["regions"], shoppers=summary["shoppers"],
        visits=summary["mystery_visits"], audits=summary["qa_audits"],
        answers=summary["answers"], complaints=summary["complaints"],
        first=summary["months"][0], last=summary["months"][-1],
        seconds=f"{summary['seconds']:.1f}")
    if assign:
        message += " " + _("%(n)s open assignments in %(month)s.", n=summary["assigned"],
                           month=assign_month)
    click.echo(message)


@click.command("strip-photo-metadata")
@with_appcontext
@cli_localised
def strip_photo_metadata_command() -> None:
    """Remove metadata (EXIF, XMP, IPTC, ICC, comments, text) from images stored earlier."""
    from .photos import strip_all_stored

    cleaned, seen = strip_all_stored()
    click.echo(_("Removed metadata from %(n)s of %(total)s stored images.", n=cleaned,
                 total=seen))


@click.group("notify")
def notify_group() -> None:
    """E-mail notifications (the outbox)."""


@notify_group.command("send")
@click.option("--retry-failed", is_flag=True,
              help="Also try again the messages that used up their attempts.")
@with_appcontext
@cli_localised
def notify_send_command(retry_failed: bool) -> None:
    """Send the e-mails waiting in the outbox (for cron: safe to run often)."""
    from .jobs import deliver_pending

    counts = deliver_pending(retry_failed=retry_failed)
    click.echo(_("%(sent)s sent, %(failed)s not sent (kept for a retry).", sent=counts["sent"],
                 failed=counts["failed"]))


@notify_group.command("run")
@click.option("--now", "now_text", default=None, metavar="YYYY-MM-DDTHH:MM",
              help="Check as of this UTC time (default: now).")
@with_appcontext
@cli_localised
def notify_run_command(now_text: str | None) -> None:
    """Run the periodic checks once (reminders, overdue work, escalations, months ready to
    close) and send what is due. For cron: running it again sends nothing twice."""
    from datetime import datetime

    from .jobs import run_periodic_now

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter(_("Expected YYYY-MM-DDTHH:MM."), param_hint="--now") \
                from None
    sent = run_periodic_now(now)
    click.echo(_("%(n)s notice(s) given.", n=sum(sent.values())))
    for event, n in sorted(sent.items()):
        click.echo(f"  {event}: {n}")


@notify_group.command("schedule")
@with_appcontext
@cli_localised
def notify_schedule_command() -> None:
    """Schedule the periodic checks on the RQ queue (run the worker with
    `rq worker --with-scheduler`); they then reschedule themselves. Without Redis or a
    worker the checks run once now: run `flask notify run` from cron instead."""
    from .jobs import periodic_interval, queue_name, start_periodic

    job_id, sent = start_periodic()
    if job_id is not None:
        click.echo(_("Periodic checks scheduled on queue %(queue)s every %(minutes)s minutes "
                     "(job %(job)s).", queue=queue_name(),
                     minutes=int(periodic_interval().total_seconds() // 60), job=job_id))
    if sent is not None:
        click.echo(_("No RQ worker to run them: the checks ran now (%(n)s notice(s) given). "
                     "Run `flask notify run` from cron.", n=sum(sent.values())), err=True)


@notify_group.command("escalation-delay")
@click.argument("days", type=click.IntRange(0, 365))
@click.option("--from", "effective_from", default=None, metavar="YYYY-MM",
              help="The month it takes effect from (default: the first open month).")
@with_appcontext
@cli_localised
def notify_escalation_command(days: int, effective_from: str | None) -> None:
    """Days after its due date when an open corrective action is escalated to HQ."""
    from .deadlines import ESCALATION_KEY
    from .settings import SettingsError, save_setting

    try:
        save_setting(ESCALATION_KEY, {"escalate_after_days": days},
                     effective_from=effective_from)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(_("Corrective actions are escalated %(days)s day(s) after their due date.",
                 days=days))
