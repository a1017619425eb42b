"""The HQ JSON API: figures, series, errors, personal bearer tokens, OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from auditapp.extensions import db
from auditapp.models import AuditLog

from .factories import make_visit


@pytest.fixture
def figures(chain):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 3))
    make_visit(chain, chain.stores[2], visit_date=date(2026, 5, 4), values={"courtesy_smile": 0})
    make_visit(chain, chain.stores[2], visit_date=date(2026, 4, 4), default=0)
    return chain


def test_bdi_by_store_region_brand(client, auth, figures, runner):
    auth.login("hq@example.com")
    cli = json.loads(runner.invoke(args=["bdi", "--month", "2026-05", "--format",
                                         "json"]).output)
    by_store = client.get("/api/hq/bdi?month=2026-05&by=store").get_json()
    assert by_store["stores"] == cli["stores"] and by_store["brand"] == cli["brand"]
    regions = client.get("/api/hq/bdi?month=2026-05&by=region").get_json()["regions"]
    by_name = {r["name"]: r for r in regions}
    stores = {s["code"]: s for s in cli["stores"]}
    assert by_name["East 华东"]["bdi"] == stores["E001"]["bdi"]  # E002 has no BDI
    assert by_name["North 华北"]["bdi"] == stores["N001"]["bdi"]
    assert by_name["North 华北"]["previous_bdi"] is not None
    brand = client.get("/api/hq/bdi?month=2026-05&by=brand").get_json()["brand"]
    assert brand["bdi"] == cli["brand"]["bdi"] and brand["name"] == "Test Burger"
    assert brand["trend"] == pytest.approx(brand["bdi"] - brand["previous_bdi"])


def test_series(client, auth, figures):
    auth.login("hq@example.com")
    data = client.get("/api/hq/series?month=2026-05").get_json()
    assert data["months"] == 12 and len(data["series"]) == 12
    assert data["series"][-1]["month"] == "2026-05" and data["series"][0]["month"] == "2025-06"
    one = client.get("/api/hq/series?month=2026-05&months=2&store=N001").get_json()
    assert one["scope"]["name"] == "北京王府井店"
    assert [p["month"] for p in one["series"]] == ["2026-04", "2026-05"]
    assert all(p["bdi"] is not None for p in one["series"])
    region = figures.regions[0].id
    assert client.get(f"/api/hq/series?region={region}&month=2026-05").status_code == 200


BAD_INPUT = [
    ("/api/hq/bdi?month=2026-13", "month", "YYYY-MM"),
    ("/api/hq/bdi?month=May", "month", "YYYY-MM"),
    ("/api/hq/bdi?month=2026-05&by=city", "by", "store, region, brand"),
    ("/api/hq/series?months=0", "months", "1 to 36"),
    ("/api/hq/series?months=abc", "months", "1 to 36"),
    ("/api/hq/series?store=NOPE", "store", "Unknown store"),
    ("/api/hq/series?region=x", "region", "whole number"),
    ("/api/hq/series?region=99", "region", "Unknown region"),
    ("/api/hq/series?store=E001&region=1", "store", "not both"),
    ("/api/hq/dimensions?by=planet", "by", "must be one of"),
]


def test_bad_input_gives_400_json(app, client, auth, chain):
    auth.login("hq@example.com")
    for query, parameter, words in BAD_INPUT:
        response = client.get(query)
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["errors"] == {parameter: body["message"]}, query
        assert words in body["message"] and body["code"] == "bad_request", query
    # in the caller's language (a fresh app context: Flask-Babel keeps the locale in ``g``)
    with app.app_context():
        zh = client.get("/api/hq/bdi?month=2026-13", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 400 and "月份请按 YYYY-MM" in zh.get_json()["message"]


def test_every_api_error_has_the_same_shape(app, client, auth, chain):
    """HQ figures, the shopper API and the app's 4xx handlers answer one JSON shape."""
    answers = [client.get("/api/hq/bdi"), client.get("/api/shopper/visits/999999"),
               client.get("/api/no-such-thing")]
    auth.login("hq@example.com")
    answers += [client.get("/api/hq/bdi?month=2026-13"), client.post("/api/health")]
    for answer in answers:
        body = answer.get_json()
        assert set(body) == {"status", "code", "message", "errors"}, body
        assert body["status"] == answer.status_code and body["message"], body
    assert [a.get_json()["code"] for a in answers] == [
        "unauthorized", "not_found", "not_found", "bad_request", "method_not_allowed"]


def test_auth_session_or_bearer_token(client, auth, figures):
    assert client.get("/api/hq/bdi?month=2026-05").status_code == 401
    auth.login("m.e001@example.com")
    denied = client.get("/api/hq/bdi?month=2026-05")
    assert denied.status_code == 403 and "Only HQ" in denied.get_json()["message"]
    auth.logout()

    auth.login("hq@example.com")
    page = client.post("/hq/api-token", data={"action": "issue"}).get_data(as_text=True)
    token = re.search(r'id="api-token">([^<]+)<', page).group(1)
    db.session.refresh(figures.hq)
    assert figures.hq.api_token_hash and token not in figures.hq.api_token_hash
    assert "You have an active token." in client.get("/hq/api-token").get_data(as_text=True)
    auth.logout()

    headers = {"Authorization": f"Bearer {token}"}
    ok = client.get("/api/hq/bdi?month=2026-05&by=brand", headers=headers)
    assert ok.status_code == 200 and ok.get_json()["brand"]["bdi"] is not None
    wrong = client.get("/api/hq/bdi", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers

    auth.login("hq@example.com")
    client.post("/hq/api-token", data={"action": "revoke"})
    auth.logout()
    assert client.get("/api/hq/bdi", headers=headers).status_code == 401
    actions = [a.action for a in db.session.query(AuditLog).filter_by(entity="user")]
    assert actions == ["issue_api_token", "revoke_api_token"]


def test_openapi_describes_the_hq_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/hq/bdi", "/api/hq/series", "/api/hq/dimensions"):
        assert "get" in spec["paths"][path]
    assert "HqBdi" in spec["components"]["schemas"]
    refs = re.findall(r'"#/components/schemas/(\w+)"', json.dumps(spec))
    assert set(refs) <= set(spec["components"]["schemas"])
