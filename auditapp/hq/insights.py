"""HQ: Insights (issue #21): key drivers, importance–performance, loyalty, triangulation,
competitor gaps and item health over a window of months. The figures are
``auditapp/insights.py``'s; this module reads the parameters, draws the charts and renders.
Area managers see the same page for their regions (``manager/insights.py``)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from .. import charts, insights, params
from ..extensions import db
from ..i18n import DIMENSION_LABELS, label
from ..models import Region, Store
from ..permissions import Cap, requires
from ..settings import scoring_config
from . import bp


def months_param() -> int:
    """``?months=N`` (3–36, default 12); 400 otherwise."""
    text = params.text("months")
    if not text:
        return insights.DEFAULT_MONTHS
    if not (text.isascii() and text.isdigit()) or not 3 <= int(text) <= insights.MAX_MONTHS:
        raise params.BadParameter(
            _("'%(name)s' must be a whole number from %(lo)s to %(hi)s, not %(value)s.",
              name="months", lo=3, hi=insights.MAX_MONTHS, value=repr(text)[:40]), "months")
    return int(text)


def store_param(allowed_regions: list[int] | None = None) -> Store | None:
    """``?store=CODE`` (a store code); 400 when unknown or not in ``allowed_regions``."""
    code = params.text("store")
    if not code:
        return None
    store = db.session.scalar(select(Store).where(Store.code == code))
    if store is None or (allowed_regions is not None and store.region_id not in allowed_regions):
        raise params.BadParameter(_("Unknown store code %(code)r.", code=code[:40]), "store")
    return store


def dimension_name(code: str) -> str:
    return label(DIMENSION_LABELS, code) if code in DIMENSION_LABELS else code


def driver_chart(drivers: insights.Drivers, title: str, figures: bool = True, **kw):
    if not drivers.enough:
        return None
    rows = [(dimension_name(c.key), c.beta, c.low, c.high)
            for c in sorted(drivers.coefficients, key=lambda c: -c.beta)]
    return charts.coefficient_chart(rows, title=title, figures=figures, **kw)


def ipa_chart(ipa: insights.Ipa, title: str, figures: bool = True, **kw):
    if not ipa.points:
        return None
    return charts.ipa_chart(
        [(dimension_name(p.key), p.importance, p.performance, p.quadrant) for p in ipa.points],
        importance_cut=ipa.importance_cut, performance_cut=ipa.performance_cut,
        quadrant_labels={k: str(v) for k, v in insights.QUADRANTS.items()},
        title=title, x_label=_("Importance (standardised coefficient)"),
        y_label=_("Performance (mean score)"), figures=figures, **kw)


def render(endpoint: str, *, regions: list[Region], allowed_regions: list[int] | None,
           hq: bool):
    period, month_value, month_error = params.month_for_page()
    months = months_param()
    region_id = params.ident("region")
    if allowed_regions is not None:
        if region_id is None and allowed_regions:
            region_id = allowed_regions[0]
        if region_id not in allowed_regions:
            abort(404)
    elif region_id is not None and db.session.get(Region, region_id) is None:
        raise params.BadParameter(_("Unknown region id %(id)r.", id=region_id), "region")
    store = store_param(allowed_regions)
    scope = insights.Scope(region_id=store.region_id if store else region_id,
                           store_id=store.id if store else None)
    data = insights.build_cached(period, months, scope, hq=hq, config=scoring_config(period))
    scope_name = (f"{store.code} {store.name}" if store
                  else next((r.name for r in regions if r.id == scope.region_id), "")
                  if scope.region_id else _("Brand"))
    return render_template(
        "hq/insights.html",
        endpoint=endpoint, period=period, month_value=month_value, month_error=month_error,
        months=months, regions=regions, region_id=scope.region_id, store=store,
        scope_name=scope_name, data=data, hq=hq,
        csm_chart=driver_chart(data.drivers["csm"], _("What drives the CSM")),
        loyalty_chart=driver_chart(data.drivers["loyalty"], _("What drives loyalty")),
        ipa_chart=ipa_chart(data.ipa, _("Importance and performance, %(scope)s",
                                        scope=scope_name)),
        flagged=insights.flagged_stores(data.flags),
        dimension_name=dimension_name, quadrants=insights.QUADRANTS,
        flag_labels=insights.FLAGS, min_n=insights.MIN_N, min_share=insights.MIN_SHARE_N,
        loyal_min=insights.loyalty.LOYAL_MIN, always=insights.ALWAYS_SHARE,
        often_na=insights.OFTEN_NA_SHARE, many_disputes=insights.MANY_DISPUTES,
        args={k: v for k, v in request.args.items() if k in ("months", "region", "store")},
    )


@bp.route("/insights")
@requires(Cap.VIEW_CHAIN)
def insights_page():
    regions = list(db.session.scalars(select(Region).order_by(Region.code)))
    return render("hq.insights_page", regions=regions, allowed_regions=None, hq=True)


@bp.app_template_global("insights_report")
def insights_report(period, region=None) -> dict:
    """The brand summary PDF's Insights section (``reports/_insights.html``): its figures
    and charts for the brand or one region, over the 12 months ending with ``period``."""
    scope = insights.Scope(region_id=region.id if region is not None else None)
    data = insights.build_cached(period, insights.DEFAULT_MONTHS, scope, hq=region is None,
                          config=scoring_config(period))
    return {
        "data": data,
        "csm_chart": driver_chart(data.drivers["csm"], _("What drives the CSM"),
                                  figures=False, width=330),
        "ipa_chart": ipa_chart(data.ipa, _("Importance and performance"), figures=False,
                               width=330, height=230),
        "flagged": insights.flagged_stores(data.flags),
        "dimension_name": dimension_name, "quadrants": insights.QUADRANTS,
        "min_n": insights.MIN_N, "min_share": insights.MIN_SHARE_N,
        "loyal_min": insights.loyalty.LOYAL_MIN, "flag_labels": insights.FLAGS,
    }
