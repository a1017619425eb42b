"""CSV and XLSX exports: visits with their item answers, and store scores for a month.

- CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly.
- XLSX is written with openpyxl (write-only mode, so big exports stay small in memory).
- Scores are the stored visit scores and ``analytics.store_scores`` (the numbers the
  screens show), rounded with ``scoring.fmt_score``.
- ``include_shopper`` is False for managers: their exports never name the shopper.
- Text that a spreadsheet would take for a formula (a store called ``=HYPERLINK(…)``) is
  escaped in every text cell, header included, as OWASP's "CSV Injection" page advises: a
  CSV cell gets a leading ``'``; an XLSX cell keeps its text, stored as a string with
  Excel's quote prefix (what a leading ``'`` means when typed). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import Response, abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import func, select

from . import analytics, item_types, scoring
from .extensions import db
from .i18n import (
    BAND_LABELS,
    DIMENSION_LABELS,
    FINAL_LABEL,
    PROVISIONAL_LABEL,
    STATUS_LABELS,
    VISIT_TYPE_LABELS,
    band_range_label,
    band_status,
    csm_label,
    label,
)
from .models import Answer, Dimension, Item, Region, Store, User, Visit, VisitDimensionScore
from .models.visit import MYSTERY
from .months import is_provisional
from .scenarios import store_recovery

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _num(value: float | None) -> float | None:
    """A score as shown on screen (one decimal), as a number."""
    return None if value is None else float(scoring.fmt_score(value))


#: Column headings in the reader's language (the codes stay in the JSON API for BI tools);
#: an item's column keeps its item code, a dimension's column its dimension's name.
COLUMN_LABELS = {
    "visit_id": _l("Visit no."),
    "visit_date": _l("Visit date"),
    "store_code": _l("Store code"),
    "store_name": _l("Store"),
    "region": _l("Region"),
    "visit_type": _l("Visit type"),
    "status": _l("Status"),
    "shopper": _l("Shopper"),
    "score": _l("Visit score"),
    "band": _l("Band"),
    "csm": _l("CSM"),
    "csm_grade": _l("CSM level"),
    "satisfied": _l("Satisfied"),
    "rank": _l("Rank"),
    "ms": _l("Mystery shop (MS)"),
    "ms_visits": _l("Mystery shop visits"),
    "qa": _l("QA audit (QA)"),
    "qa_visits": _l("QA audits"),
    "hl": _l("Hotline (HL)"),
    "complaints": _l("Complaints"),
    "bdi": _l("BDI"),
    "previous_bdi": _l("Previous month's BDI"),
    "change": _l("Month-on-month change"),
    "failed_items": _l("Failed items"),
    "bdi_low": _l("BDI interval low (90 %)"),
    "bdi_high": _l("BDI interval high (90 %)"),
    "band_range": _l("Band range"),
    "band_status": _l("Band status"),
    "change_significant": _l("Clear change"),
    "month_status": _l("Month status"),
    "rs": _l("Recovery score (RS, 3 months)"),
    "rs_visits": _l("Scenario visits (RS n)"),
}


def _headings(codes: list[str]) -> list[str]:
    dimensions = {f"dim_{d}": d for d in scoring.DIMENSIONS}
    return [
        label(DIMENSION_LABELS, dimensions[c]) if c in dimensions
        else label(COLUMN_LABELS, c)
        for c in codes
    ]


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else (_("Yes") if value else _("No"))


def _answer_cell(item, value: float | None, text: str, na: bool, voided: bool):
    """An answer in an export cell: the item's type decides (``item_types``)."""
    if voided:
        return _("Void")
    kind = item_types.of(item)
    if na or (kind.numeric and value is None):
        return _("N/A")
    return kind.export_cell(item, value, text or "")


@dataclass(frozen=True)
class _ItemRef:
    code: str
    item_type: str
    config: dict | None
    timed_targets: dict | None


# --- tables --------------------------------------------------------------------------------


def visits_table(
    period: analytics.Period,
    *,
    store_ids: list[int] | None = None,
    region_id: int | None = None,
    include_shopper: bool = False,
) -> tuple[list[str], list[list]]:
    """One row per released mystery visit of the period, one column per item code."""
    where = [
        Visit.kind == MYSTERY,
        Visit.counted,
        period.includes(Visit.visit_date),
        Visit.store_id.is_not(None),
    ]
    if store_ids is not None:
        where.append(Visit.store_id.in_(store_ids))
    if region_id is not None:
        where.append(Store.region_id == region_id)
    columns = [
        Visit.id, Visit.visit_date, Visit.visit_type, Visit.status, Visit.score, Visit.csm,
        Visit.csm_grade, Visit.satisfied, Store.code.label("store_code"),
        Store.name.label("store_name"), Region.name.label("region_name"),
    ]
    query = (
        select(*columns)
        .join(Store, Store.id == Visit.store_id)
        .join(Region, Region.id == Store.region_id)
        .where(*where)
        .order_by(Visit.visit_date, Store.code, Visit.id)
    )
    if include_shopper:
        query = query.add_columns(User.username.label("shopper")).outerjoin(
            User, User.id == Visit.evaluator_id
        )
    visits = db.session.execute(query).all()
    visit_ids = select(Visit.id).join(Store, Store.id == Visit.store_id).where(*where)

    codes = [
        code
        for code, *_ in db.session.execute(
            select(Item.code, func.min(Dimension.position), func.min(Item.position))
            .join(Dimension, Dimension.id == Item.dimension_id)
            .join(Answer, Answer.item_id == Item.id)
            .where(Answer.visit_id.in_(visit_ids))
            .group_by(Item.code)
            .order_by(func.min(Dimension.position), func.min(Item.position), Item.code)
        )
    ]
    answers: dict[int, dict[str, object]] = {}
    for visit_id, code, item_type, config, targets, value, text, na, voided in \
            db.session.execute(
        select(Answer.visit_id, Item.code, Item.item_type, Item.config, Item.timed_targets,
               Answer.value, Answer.text, Answer.na, Answer.voided)
        .join(Item, Item.id == Answer.item_id)
        .where(Answer.visit_id.in_(visit_ids))
    ):
        item = _ItemRef(code, item_type, config, targets)
        answers.setdefault(visit_id, {})[code] = _answer_cell(item, value, text, na, voided)
    dims: dict[int, dict[str, float | None]] = {}
    for visit_id, dimension, value in db.session.execute(
        select(VisitDimensionScore.visit_id, VisitDimensionScore.dimension,
               VisitDimensionScore.score).where(VisitDimensionScore.visit_id.in_(visit_ids))
    ):
        dims.setdefault(visit_id, {})[dimension] = value
    failed: dict[int, int] = {
        visit_id: n for visit_id, n in db.session.execute(
            select(Answer.visit_id, func.count())
            .where(Answer.visit_id.in_(visit_ids), Answer.failed)
            .group_by(Answer.visit_id))
    }

    config = analytics._scoring_config(None)
    header = ["visit_id", "visit_date", "store_code", "store_name", "region", "visit_type",
              "status"]
    if include_shopper:
        header.append("shopper")
    header += ["score", "band", "csm", "csm_grade", "satisfied", "failed_items"]
    header += [f"dim_{d}" for d in scoring.DIMENSIONS]
    header += codes
    rows = []
    for v in visits:
        row = [v.id, v.visit_date.isoformat(), v.store_code, v.store_name, v.region_name,
               label(VISIT_TYPE_LABELS, v.visit_type), label(STATUS_LABELS, v.status)]
        if include_shopper:
            row.append(v.shopper)
        row += [_num(v.score), label(BAND_LABELS, scoring.band(v.score, config)), _num(v.csm),
                None if v.csm_grade is None else csm_label(v.csm_grade), _yes_no(v.satisfied),
                failed.get(v.id, 0)]
        d = dims.get(v.id, {})
        row += [_num(d.get(code)) for code in scoring.DIMENSIONS]
        a = answers.get(v.id, {})
        row += [a.get(code) for code in codes]
        rows.append(row)
    return _headings(header), rows


def scores_table(
    period: analytics.Period, *, store_ids: list[int] | None = None, region_id: int | None = None
) -> tuple[list[str], list[list]]:
    """The month's store scores, as ``analytics.store_scores`` gives them (best first)."""
    scores = analytics.store_scores(
        period, region_id=region_id, store_ids=store_ids,
        include_inactive=store_ids is not None, with_trend=True,
    )
    header = ["rank", "store_code", "store_name", "region", "ms", "ms_visits", "qa",
              "qa_visits", "hl", "complaints", "bdi", "band", "previous_bdi", "change",
              # SCORING.md §10: the BDI's 90 % interval, its bands, a significant change
              "bdi_low", "bdi_high", "band_range", "band_status", "change_significant",
              "month_status", "rs", "rs_visits"]
    # SCORING.md §13: the store's recovery score beside the BDI (one GROUP BY)
    recovery = {r.store_id: r for r in store_recovery(period, store_ids)}
    # SCORING.md §11: an open month's figures are provisional, in the file too
    status = str(PROVISIONAL_LABEL) if is_provisional(period) else str(FINAL_LABEL)
    rows = [
        [s.rank, s.code, s.name, s.region_name, _num(s.ms), s.ms_visits, _num(s.qa),
         s.qa_visits, _num(s.hl), s.complaints, _num(s.bdi), label(BAND_LABELS, s.band),
         _num(s.previous_bdi), _num(s.trend),
         _num(s.interval.low if s.interval else None),
         _num(s.interval.high if s.interval else None),
         band_range_label(s.bands), band_status(s.bands),
         _yes_no(s.change_significant),
         status,
         _num(recovery[s.store_id].rs) if s.store_id in recovery else None,
         recovery[s.store_id].n if s.store_id in recovery else 0]
        for s in scores
    ]
    return _headings(header), rows


# --- files ------------------------------------------------------------------------------------


#: A text cell starting with one of these is a formula to Excel, LibreOffice or Sheets
#: (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if _formula_like(value):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(v) for v in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_row(worksheet, row: Sequence) -> list:
    """openpyxl stores a string starting with ``=`` as a formula: such text goes in as a
    string cell with the quote prefix instead."""
    cells = []
    for value in row:
        if _formula_like(value):
            cell = WriteOnlyCell(worksheet, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            value = cell
        cells.append(value)
    return cells


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], sheet: str) -> bytes:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(_xlsx_row(worksheet, header))
    for row in rows:
        worksheet.append(_xlsx_row(worksheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_response(header, rows, fmt: str, name: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    data = to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, name)
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def visits_response(period, fmt: str, **filters) -> Response:
    if fmt not in FORMATS:
        abort(404)
    header, rows = visits_table(period, **filters)
    return file_response(header, rows, fmt, f"visits-{period.label}")


def scores_response(period, fmt: str, **filters) -> Response:
    if fmt not in FORMATS:
        abort(404)
    header, rows = scores_table(period, **filters)
    return file_response(header, rows, fmt, f"store-scores-{period.label}")


__all__ = ["FORMATS", "scores_table", "to_csv", "to_xlsx", "visits_table"]
