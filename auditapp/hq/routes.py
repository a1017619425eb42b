"""HQ: the programme's console (see issue #4): dashboards and the drill-down
brand → region → store → visit, and the competitor benchmark.

Every figure comes from ``analytics.py``; these views only pick, sort and lay them out.
"""

from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from .. import analytics, charts, params
from .. import visits as visit_service
from ..audit import log_change
from ..extensions import db
from ..i18n import BAND_LABELS
from ..models import Region, Store, Visit
from ..permissions import Cap, requires
from ..scoring import DIMENSIONS
from ..settings import scoring_config
from . import bp

#: Columns the store ranking can be sorted by (query parameter ``sort``).
SORT_KEYS = {
    "rank": lambda s: (s.rank is None, s.rank or 0),
    "code": lambda s: s.code,
    "name": lambda s: s.name,
    "region": lambda s: (s.region_name, s.code),
    "ms": lambda s: (s.ms is None, s.ms or 0.0),
    "qa": lambda s: (s.qa is None, s.qa or 0.0),
    "hl": lambda s: (s.hl is None, s.hl or 0.0),
    "bdi": lambda s: (s.bdi is None, s.bdi or 0.0),
    "trend": lambda s: (s.trend is None, s.trend or 0.0),
}


def sort_stores(stores: list, key: str, descending: bool) -> list:
    """Stores sorted by a ranking column; rows without a value stay last."""
    getter = SORT_KEYS[key]
    present = [s for s in stores if not _missing(getter(s))]
    missing = [s for s in stores if _missing(getter(s))]
    return sorted(present, key=getter, reverse=descending) + missing


def _missing(value) -> bool:
    return isinstance(value, tuple) and value[0] is True


def _band_bars(distribution: dict[str, int]) -> list[tuple[str, float, str]]:
    return [
        (str(BAND_LABELS.get(code, code)), n, charts.BAND_COLOURS.get(code, "#8a96a3"))
        for code, n in distribution.items()
    ]


def _heat_rows(period: analytics.Period, stores: list) -> list[tuple]:
    means = analytics.dimension_means(period, by="store", store_ids=[s.store_id for s in stores])
    return [(s, means.get(s.store_id, {})) for s in stores if s.store_id in means]


@bp.route("/")
@requires(Cap.VIEW_CHAIN)
def index():
    period, month_value, month_error = params.month_for_page()
    config = scoring_config(period)
    brand = analytics.brand_score(period, config)
    regions = analytics.region_scores(period, config)
    region_id = params.ident("region")
    stores = analytics.store_scores(period, config, region_id=region_id, with_trend=True)
    sort = request.args.get("sort", "rank")
    if sort not in SORT_KEYS:
        sort = "rank"
    descending = request.args.get("dir", "desc" if sort in ("ms", "qa", "hl", "bdi", "trend")
                                  else "asc") == "desc"
    stores = sort_stores(stores, sort, descending)
    distribution = analytics.band_distribution(period, config)
    series = analytics.trend_points(period, 12, config=config)
    return render_template(
        "hq/index.html",
        period=period,
        month_error=month_error,
        month_value=month_value,
        brand=brand,
        regions=regions,
        region_id=region_id,
        stores=stores,
        sort=sort,
        descending=descending,
        heat=_heat_rows(period, stores),
        bands=config.bands,
        band_of=charts.band_of,
        band_chart=charts.bar_chart(_band_bars(distribution),
                                    title=_("Stores per BDI band, %(m)s", m=period.label)),
        trend_chart=charts.line_chart(series, title=_("Brand BDI, last 12 months")),
        satisfaction=analytics.satisfaction(period),
        unreviewed=visit_service.unreviewed_count(),
        dimensions=DIMENSIONS,
    )


@bp.route("/regions/<int:region_id>")
@requires(Cap.VIEW_CHAIN)
def region_detail(region_id: int):
    region = db.get_or_404(Region, region_id)
    period, month_value, month_error = params.month_for_page()
    config = scoring_config(period)
    group = next((r for r in analytics.region_scores(period, config) if r.id == region_id), None)
    stores = analytics.store_scores(period, config, region_id=region_id, with_trend=True)
    series = analytics.trend_points(period, 12, region_id=region_id, config=config)
    name = group.name if group else region.name  # a closed month: the name at closing
    return render_template(
        "hq/region_detail.html",
        region=region,
        region_name=name,
        group=group,
        period=period,
        month_error=month_error,
        month_value=month_value,
        stores=stores,
        heat=_heat_rows(period, stores),
        bands=config.bands,
        band_of=charts.band_of,
        trend_chart=charts.line_chart(
            series, title=_("%(name)s BDI, last 12 months", name=name)),
        satisfaction=analytics.satisfaction(period, region_id=region_id),
        dimensions=DIMENSIONS,
    )


@bp.route("/stores/<int:store_id>")
@requires(Cap.VIEW_CHAIN)
def store_detail(store_id: int):
    store = db.get_or_404(Store, store_id)
    period, month_value, month_error = params.month_for_page()
    config = scoring_config(period)
    score = analytics.store_score(store_id, period, config)  # ranked among active stores
    series = analytics.trend_points(period, 12, store_id=store_id, config=config)
    dims = analytics.dimension_means(period, by="store", store_ids=[store_id]).get(store_id, {})
    visits = db.session.scalars(
        select(Visit)
        .where(Visit.store_id == store_id)
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
        .limit(60)
    ).all()
    return render_template(
        "hq/store_detail.html",
        store=store,
        score=score,
        period=period,
        month_error=month_error,
        month_value=month_value,
        dims=dims,
        bands=config.bands,
        band_of=charts.band_of,
        trend_chart=charts.line_chart(
            series, title=_("%(name)s BDI, last 12 months", name=store.name)),
        series=series,
        satisfaction=analytics.satisfaction(period, store_ids=[store_id]),
        visits=visits,
        dimensions=DIMENSIONS,
    )


@bp.route("/competitors")
@requires(Cap.VIEW_CHAIN)
def competitors():
    period, month_value, month_error = params.month_for_page()
    config = scoring_config(period)
    ours = analytics.dimension_means(period, by="brand").get(None, {})
    bench = analytics.competitor_benchmark(period)
    theirs = {name: b["dimensions"] for name, b in bench.items()}
    overall = {name: (b["score"], b["visits"], b["interval"]) for name, b in bench.items()}
    own_n, own_mean = analytics.mystery_visit_mean(period)
    names = sorted(theirs)
    return render_template(
        "hq/competitors.html",
        period=period,
        month_error=month_error,
        month_value=month_value,
        ours=ours,
        theirs=theirs,
        names=names,
        overall=overall,
        own_mean=own_mean,
        own_n=own_n,
        bands=config.bands,
        band_of=charts.band_of,
        dimensions=DIMENSIONS,
        chart=charts.bar_chart(
            [(_("Our stores"), own_mean or 0.0, charts.ACCENT)]
            + [(n, overall[n][0] or 0.0, "#8a96a3") for n in names],
            title=_("Mean visit score, %(m)s", m=period.label),
        ),
    )


class TokenForm(FlaskForm):
    """Only the CSRF token."""


@bp.route("/api-token", methods=["GET", "POST"])
@requires(Cap.FIGURES_API)
def api_token():
    """Generate (or replace) and revoke the HQ user's personal API token for BI tools.
    The token is shown once; only its hash is stored."""
    from ..api.hq import issue_token, revoke_token

    form = TokenForm()
    token = None
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if request.form.get("action") == "revoke":
            revoke_token(user)
            log_change("user", user.id, "revoke_api_token", user.id)
            flash(_("Your API token is revoked."), "success")
        else:
            token = issue_token(user)
            log_change("user", user.id, "issue_api_token", user.id)
            flash(_("New API token made. Copy it now: it will not be shown again."), "success")
        db.session.commit()
    return render_template("hq/index_api_token.html", form=form, token=token,
                           has_token=bool(current_user.api_token_hash))
