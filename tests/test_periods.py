"""One month picker, one "which visits count" criterion and batched store cards
(issue #14 item 1), seen through the pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from auditapp.extensions import db
from auditapp.models import CorrectiveAction
from auditapp.models.visit import DISPUTED, RELEASED, RETURNED, SUBMITTED

from .factories import make_user, make_visit

MONTH_MESSAGE = "Write the month as YYYY-MM from 1900-01 to 9998-12 (e.g. 2026-05), not"

PICKER_PAGES = [
    ("hq@example.com", "/hq/"),
    ("hq@example.com", "/hq/regions/{region}"),
    ("hq@example.com", "/hq/stores/{store}"),
    ("hq@example.com", "/hq/competitors"),
    ("hq@example.com", "/hq/reports"),
    ("m.e001@example.com", "/manager/"),
    ("m.e001@example.com", "/manager/stores/{store}"),
    ("m.e001@example.com", "/manager/reports"),
]


def _url(chain, path: str) -> str:
    return path.format(store=chain.stores[0].id, region=chain.stores[0].region_id)


@pytest.mark.parametrize(("user", "path"), PICKER_PAGES)
def test_every_month_picker_is_the_same_widget(client, auth, chain, user, path):
    """A month that cannot be read: the page shows the latest month, keeps what was
    typed in the picker and says the one message, the same way on every page."""
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 10))
    auth.login(user)
    response = client.get(_url(chain, path) + "?month=2026-13")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    picker = re.search(r'<form class="month-picker[^"]*has-error".*?</form>', html, re.S)
    assert picker, path
    assert ('<input type="month" id="month" name="month" value="2026-13" pattern="\\d{4}-\\d{2}"'
            ' placeholder="YYYY-MM" aria-invalid="true" aria-describedby="month-error">'
            in picker.group(0))
    assert f'<p class="error" id="month-error" role="alert">{MONTH_MESSAGE}' in (
        html.replace("&#39;", "'"))
    # a good month is shown in the picker, without a message
    html = client.get(_url(chain, path) + "?month=2026-04").get_data(as_text=True)
    assert 'name="month" value="2026-04"' in html and "month-error" not in html


def test_complaint_filter_uses_the_same_month_field(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/complaints?month=9999-12").get_data(as_text=True)
    assert ('<input type="month" id="f-month" name="month" value="9999-12"' in html
            and 'aria-describedby="f-month-error"' in html)
    assert MONTH_MESSAGE in html.replace("&#39;", "'")


def test_counted_visits_are_the_same_everywhere(client, auth, chain):
    """Released and disputed visits count; submitted and returned ones do not — in the
    HQ figures, the API, the exports, the reports page and the manager's pages."""
    store = chain.stores[0]
    counted = [make_visit(chain, store, status=s, visit_date=date(2026, 5, d))
               for s, d in ((RELEASED, 3), (DISPUTED, 4))]
    hidden = [make_visit(chain, store, status=s, visit_date=date(2026, 5, d))
              for s, d in ((SUBMITTED, 5), (RETURNED, 6))]
    auth.login("hq@example.com")
    bdi = client.get("/api/hq/bdi?month=2026-05").get_json()
    row = next(r for r in bdi["stores"] if r["code"] == store.code)
    assert row["ms_visits"] == 2
    for path in ("/hq/reports/export/visits.csv?month=2026-05",):
        rows = list(csv.reader(io.StringIO(client.get(path).get_data(as_text=True))))
        assert len(rows) - 1 == 2, path
    auth.logout()
    auth.login("m.e001@example.com")
    rows = list(csv.reader(io.StringIO(
        client.get("/manager/reports/export/visits.csv?month=2026-05").get_data(as_text=True))))
    assert len(rows) - 1 == 2
    reports = client.get("/manager/reports?month=2026-05").get_data(as_text=True)
    page = client.get(f"/manager/stores/{store.id}?month=2026-05").get_data(as_text=True)
    for visit in counted:
        assert f"/manager/reports/visits/{visit.id}.pdf" in reports
        assert f"/manager/visits/{visit.id}" in page
        assert client.get(f"/manager/visits/{visit.id}").status_code == 200
    for visit in hidden:
        assert f"/manager/reports/visits/{visit.id}.pdf" not in reports
        assert f"/manager/visits/{visit.id}\"" not in page
        assert client.get(f"/manager/visits/{visit.id}").status_code == 404


@contextmanager
def count_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_store_cards_take_the_same_queries_for_one_or_many_stores(client, auth, chain):
    many = make_user("area@example.com", "manager", "Area manager")
    many.stores.extend(chain.stores)
    db.session.commit()
    for i, store in enumerate(chain.stores):
        visit = make_visit(chain, store, visit_date=date(2026, 5, 10 + i))
        db.session.add(CorrectiveAction(visit=visit, answer=visit.answers[0], action="Fix it",
                                        owner="Crew", due_date=date(2026, 5, 20),
                                        created_by_id=chain.hq.id))
    db.session.commit()

    def statements_for(user: str) -> tuple[int, str]:
        auth.login(user)
        client.get("/manager/?month=2026-05")  # warm-up (session, caches)
        with count_statements() as statements:
            html = client.get("/manager/?month=2026-05").get_data(as_text=True)
        auth.logout()
        return len(statements), html

    one, one_html = statements_for("m.e001@example.com")
    four, four_html = statements_for("area@example.com")
    assert four_html.count('class="card store-card"') == 4
    assert one_html.count('class="card store-card"') == 1
    assert one == four
