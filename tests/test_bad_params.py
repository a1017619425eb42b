"""Bad query parameters get a clear 4xx message, never a 500 (issue #13 item 7), and the
month rule, its message and the month picker are the same on every page, the API and the
CLI (issue #14 item 1).

Every route that reads a month, an id, a page or a search text is asked with the values
that crashed it: ``9999-12`` (the next month overflows ``date``), ``2**40`` (beyond a
PostgreSQL INTEGER), a NUL (PostgreSQL refuses it in text) and garbage.
"""

from __future__ import annotations

from datetime import date

import pytest

from auditapp.api.hq import issue_token
from auditapp.extensions import db
from auditapp.questionnaires import copy_as_new_version

from .factories import make_visit

MONTH_MESSAGE = "Write the month as YYYY-MM from 1900-01 to 9998-12"
ID_MESSAGE = "must be a whole number from 1 to 2147483647"
NUL_MESSAGE = "cannot be searched for (NUL)"

BAD_MONTHS = ["9999-12", str(2**40), "%00", "garbage", "2026-13", "1899-12", "10000-01"]
BAD_IDS = ["9999-12", str(2**40), "%00", "garbage", "0", "-1", "2147483648"]

# (who, url with {} for the bad value, what kind of parameter it is)
MONTH_ROUTES = [
    ("hq", "/hq/?month={}"),
    ("hq", "/hq/regions/{region}?month={}"),
    ("hq", "/hq/stores/{store}?month={}"),
    ("hq", "/hq/competitors?month={}"),
    ("hq", "/hq/complaints?month={}"),
    ("hq", "/hq/reports?month={}"),
    ("hq", "/hq/reports/brand.pdf?month={}"),
    ("hq", "/hq/reports/stores/{store}.pdf?month={}"),
    ("hq", "/hq/reports/export/visits.csv?month={}"),
    ("hq", "/hq/reports/export/scores.xlsx?month={}"),
    ("hq", "/hq/scheduling?month={}"),
    ("manager", "/manager/?month={}"),
    ("manager", "/manager/stores/{store}?month={}"),
    ("manager", "/manager/reports?month={}"),
    ("manager", "/manager/reports/stores/{store}.pdf?month={}"),
    ("manager", "/manager/reports/export/visits.csv?month={}"),
    ("manager", "/manager/reports/export/scores.csv?month={}"),
    ("token", "/api/hq/bdi?month={}"),
    ("token", "/api/hq/series?month={}"),
    ("token", "/api/hq/dimensions?month={}"),
]
ID_ROUTES = [
    ("hq", "/hq/?region={}"),
    ("hq", "/hq/complaints?store={}"),
    ("hq", "/hq/stores?region={}"),
    ("hq", "/hq/stores?page={}"),
    ("hq", "/hq/people?page={}"),
    ("hq", "/hq/audit?page={}"),
    ("hq", "/hq/reports/brand.pdf?month=2026-05&region={}"),
    ("hq", "/hq/questionnaires/{questionnaire}/items/new?dimension={}"),
    ("token", "/api/hq/series?region={}"),
]
TEXT_ROUTES = [
    ("hq", "/hq/stores?q={}"),
    ("hq", "/hq/people?q={}"),
    ("hq", "/hq/audit?entity={}"),
    ("hq", "/hq/audit?entity_id={}"),
    ("hq", "/hq/audit?action={}"),
    ("token", "/api/hq/series?store={}"),
]
PATH_ID_ROUTES = [
    ("hq", "/hq/stores/{}"),
    ("hq", "/hq/regions/{}"),
    ("hq", "/hq/visits/{}"),
    ("hq", "/hq/reports/stores/{}.pdf?month=2026-05"),
    ("hq", "/hq/reports/visits/{}.pdf"),
    ("hq", "/hq/complaints/{}"),
    ("manager", "/manager/stores/{}"),
    ("manager", "/manager/visits/{}"),
    ("manager", "/manager/reports/visits/{}.pdf"),
]


@pytest.fixture
def personas(app, client, chain):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 10))
    token = issue_token(chain.hq)
    draft = copy_as_new_version(chain.ms_q, chain.ms_q.version + 1)
    db.session.add(draft)
    db.session.commit()
    ids = {"store": chain.stores[0].id, "region": chain.stores[0].region_id,
           "questionnaire": draft.id}

    def get(who: str, url: str):
        url = url.replace("{store}", str(ids["store"])).replace(
            "{region}", str(ids["region"])).replace("{questionnaire}", str(ids["questionnaire"]))
        client.get("/auth/logout")
        headers = {}
        if who == "token":
            headers["Authorization"] = f"Bearer {token}"
        else:
            user = "hq@example.com" if who == "hq" else "m.e001@example.com"
            client.post("/auth/login", data={"username": user, "password": "secret-pass"})
        return client.get(url, headers=headers)

    return get


def _message_of(response) -> str:
    if response.is_json:
        body = response.get_json()
        return str(body.get("error", "")) + str(body.get("message", ""))
    return response.get_data(as_text=True)


def _check(response, url: str, message: str) -> None:
    assert response.status_code < 500, url
    assert response.status_code in (200, 400, 422), (url, response.status_code)
    text = _message_of(response)
    if "%00" in url and message == MONTH_MESSAGE:
        message = "Write the month as YYYY-MM"
    assert message in text.replace("&#39;", "'"), url
    if response.status_code == 400 and url.startswith("/api/"):
        assert response.get_json()["status"] == 400 and response.get_json()["errors"]


@pytest.mark.parametrize(("who", "route"), MONTH_ROUTES)
def test_bad_month_gets_a_clear_message(personas, who, route):
    for value in BAD_MONTHS:
        url = route.replace("{}", value)
        _check(personas(who, url), url, MONTH_MESSAGE)


@pytest.mark.parametrize(("who", "route"), ID_ROUTES)
def test_bad_id_or_page_gets_a_clear_message(personas, who, route):
    for value in BAD_IDS:
        url = route.replace("{}", value)
        response = personas(who, url)
        _check(response, url, ID_MESSAGE)
        assert response.status_code == 400, url


@pytest.mark.parametrize(("who", "route"), TEXT_ROUTES)
def test_nul_in_search_text_gets_a_clear_message(personas, who, route):
    url = route.replace("{}", "E0%0001")
    response = personas(who, url)
    _check(response, url, NUL_MESSAGE)
    assert response.status_code == 400
    for value in ("garbage", "%E2%80%AE", "x" * 300):  # ordinary text: no error
        assert personas(who, route.replace("{}", value)).status_code < 500


@pytest.mark.parametrize(("who", "route"), PATH_ID_ROUTES)
def test_huge_id_in_the_path_is_not_found(personas, who, route):
    for value in (str(2**31), str(2**40), "9" * 30):
        assert personas(who, route.replace("{}", value)).status_code == 404


def test_visit_and_store_pickers_flash_on_bad_numbers(personas):
    for value in (str(2**40), "%00", "garbage"):
        page = personas("hq", f"/hq/reports/visit?visit={value}")
        assert page.status_code == 302
        page = personas("hq", f"/hq/reports/store?store={value}&month=2026-05")
        assert page.status_code == 302


def test_month_message_is_translated(app, personas, client):
    response = personas("hq", "/hq/reports/brand.pdf?month=9999-12")
    assert response.status_code == 400 and MONTH_MESSAGE in response.get_data(as_text=True)
    # a fresh app context: Flask-Babel keeps the locale in ``g``
    with app.app_context():
        zh = client.get("/hq/reports/brand.pdf?month=9999-12",
                        headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 400 and "月份请按 YYYY-MM" in zh.get_data(as_text=True)


def test_last_month_has_no_next_link(personas):
    html = personas("hq", "/hq/?month=9998-12").get_data(as_text=True)
    assert 'value="9998-12"' in html and "month=9998-11" in html
    assert "month=9999-01" not in html
    html = personas("hq", "/hq/?month=2026-05").get_data(as_text=True)
    assert "month=2026-04" in html and "month=2026-06" in html


def test_cli_uses_the_same_month_rule(app, chain):
    runner = app.test_cli_runner()
    for command in (["bdi", "--month"], ["schedule", "--month"],
                    ["seed-demo", "--last-month"]):
        result = runner.invoke(args=[*command, "9999-12"])
        assert result.exit_code != 0 and MONTH_MESSAGE in result.output, command


# --- numbers typed into HQ forms ---------------------------------------------------------

SETTINGS = {
    "w_ms": "0.6", "w_qa": "0.25", "w_hl": "0.15", "d_minor": "2", "d_major": "5",
    "d_critical": "10", "quick_hours": "48", "quick_factor": "0.5", "band_excellent": "90",
    "band_good": "80", "band_fair": "70", "dispute_window_days": "7",
    "complaint_overdue_hours": "48",
}


@pytest.mark.parametrize(("field", "message"), [
    ("w_ms", "Must be from 0 to 1000."), ("w_hl", "Must be from 0 to 1000."),
    ("d_critical", "Must be from 0 to 100."), ("quick_hours", "Must be from 0 to 8760."),
    ("quick_factor", "The factor must be between 0 and 1."),
    ("band_good", "Must be from 0 to 100."),
])
def test_settings_refuse_absurd_numbers(personas, client, field, message):
    personas("hq", "/hq/settings")
    for value in ("1e308", "inf", "-inf", "nan"):
        response = client.post("/hq/settings", data={**SETTINGS, field: value})
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html, value
        assert f'value="{value}"' in html, value  # what was typed is kept
    assert personas("hq", "/hq/?month=2026-05").status_code == 200


def test_questionnaire_editor_refuses_absurd_numbers(personas, client, chain):
    personas("hq", "/hq/")
    draft = db.session.scalars(
        db.select(type(chain.ms_q)).where(type(chain.ms_q).status == "draft")).one()
    base = f"/hq/questionnaires/{draft.id}"
    dimension = draft.dimensions[0]
    item = {"dimension_id": dimension.id, "code": "speed_drive", "item_type": "timed",
            "weight": "1.5", "text": "Drive-thru time", "t_drive_thru": "150",
            "l_drive_thru": "300", "t_walk_in": "100", "l_walk_in": "250", "t_dine_in": "200",
            "l_dine_in": "500"}
    for value in ("inf", "1e308", "nan"):
        response = client.post(f"{base}/items/new", data={**item, "weight": value})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, value
        assert "The weight must be above 0 and at most 1000." in html and f'value="{value}"' in html
        response = client.post(f"{base}/items/new", data={**item, "t_walk_in": value})
        assert response.status_code == 422, value
        assert "The target T must be from 0 to 86400 seconds." in response.get_data(as_text=True)
        data = {"name": dimension.name, "name_zh": dimension.name_zh or "", "weight": value}
        response = client.post(f"{base}/dimensions/{dimension.id}",
                               data={f"d{dimension.id}-{k}": v for k, v in data.items()})
        assert response.status_code == 422, value
        assert "The weight must be above 0 and at most 1000." in response.get_data(as_text=True)
    assert client.post(f"{base}/items/new", data=item).status_code == 302


def test_nul_in_a_link_token_is_no_visit(personas, client):
    assert client.get("/shopper/t/ab%00cd").status_code == 404
    for url in ("/api/shopper/assignments?token=ab%00cd", "/api/shopper/visits/1?token=ab%00cd"):
        assert 400 <= client.get(url).status_code < 500, url
