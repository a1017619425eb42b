"""Area managers: every store of their regions, read and follow up like a store manager,
a region table of the month's figures; created from the CLI and HQ's people pages."""

from __future__ import annotations

from datetime import date

from flask import url_for
from sqlalchemy import func, select

from auditapp import analytics, scoring
from auditapp.extensions import db
from auditapp.models import CorrectiveAction, Dispute, User

from .factories import make_user, make_visit
from .manager_helpers import (
    add_action,
    answer,
    file_dispute,
    get_text,
    make_area_manager,
    released_visit,
)


def test_sees_every_store_of_their_regions_and_no_other(client, auth, chain):
    e001, e002, n001 = chain.stores[0], chain.stores[1], chain.stores[2]
    make_visit(chain, e001, visit_date=date(2026, 5, 8), values={"courtesy_thanks": 0})
    make_visit(chain, e002, visit_date=date(2026, 5, 9))
    north = released_visit(chain, n001)
    make_area_manager("area.east@example.com", chain.regions[0])
    auth.login("area.east@example.com")
    # "/" lands on the region table; the menu comes from the role's registry entry
    with client.get("/") as r:
        assert r.status_code == 302 and r.headers["Location"].endswith("/manager/regions")
    status, html = get_text(client, "/manager/regions?month=2026-05")
    assert status == 200
    assert 'href="/manager/regions"' in html and 'href="/manager/actions"' in html
    assert 'href="/hq/' not in html
    assert "上海南京西路店" in html and "Hangzhou Lake" in html
    assert "北京王府井店" not in html and "Tianjin Binjiang" not in html
    period = analytics.Period.month("2026-05")
    for score in analytics.store_scores(period, store_ids=[e001.id, e002.id]):
        assert scoring.fmt_score(score.bdi) in html
    region = next(g for g in analytics.region_scores(period) if g.id == chain.regions[0].id)
    assert scoring.fmt_score(region.bdi) in html
    # the store cards and store pages of both stores, none of the north
    status, html = get_text(client, "/manager/?month=2026-05")
    assert status == 200 and "上海南京西路店" in html and "Hangzhou Lake" in html
    assert "北京王府井店" not in html
    assert client.get(f"/manager/stores/{e002.id}").status_code == 200
    for url in (f"/manager/stores/{n001.id}", f"/manager/visits/{north.id}",
                f"/manager/reports/visits/{north.id}.pdf",
                f"/manager/reports/stores/{n001.id}.pdf?month=2026-05"):
        assert client.get(url).status_code == 404, url
    # HQ pages and the HQ API stay closed
    assert client.get("/hq/").status_code == 403
    assert client.get("/api/hq/bdi").status_code == 403


def test_follows_up_like_a_store_manager_but_does_not_mark_as_read(client, auth, chain):
    visit = released_visit(chain, chain.stores[1])
    north = released_visit(chain, chain.stores[2])
    make_area_manager("area.east@example.com", chain.regions[0])
    auth.login("area.east@example.com")
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert status == 200
    assert "Mark as read" not in html
    assert "The store manager has not marked this audit as read yet." in html
    assert add_action(client, visit, answer(visit, "courtesy_thanks")).status_code == 302
    assert file_dispute(client, visit, answer(visit, "clean_restroom")).status_code == 302
    assert db.session.scalar(select(func.count(CorrectiveAction.id))) == 1
    assert db.session.scalar(select(func.count(Dispute.id))) == 1
    action = db.session.scalars(select(CorrectiveAction)).one()
    assert client.post(f"/manager/actions/{action.id}/done").status_code == 302
    db.session.refresh(action)
    assert action.status == "done"
    status, html = get_text(client, "/manager/actions")
    assert status == 200 and "Restock soap every hour" in html
    # "mark as read" belongs to the store manager
    assert client.post(f"/manager/visits/{visit.id}/acknowledge").status_code == 403
    db.session.refresh(visit)
    assert visit.acknowledged_at is None
    # nothing outside the region
    assert file_dispute(client, north, answer(north, "clean_restroom")).status_code == 404
    assert add_action(client, north, answer(north, "courtesy_thanks")).status_code == 404


def test_create_user_cli_gives_regions(runner, chain):
    ok = runner.invoke(args=["create-user", "--username", "area.x@example.com",
                             "--role", "area_manager", "--region", "EAST", "--region", "NORTH",
                             "--password", "long-enough-pw"])
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.username == "area.x@example.com"))
    assert [r.code for r in user.regions] == ["EAST", "NORTH"]
    before = db.session.scalar(select(func.count(User.id)))
    for args, message in (
        (["--role", "area_manager"], "an area manager needs at least one region"),
        (["--role", "area_manager", "--region", "WEST"], "Unknown region code(s): WEST"),
        (["--role", "manager", "--store", "E001", "--region", "EAST"],
         "only area managers are given regions"),
    ):
        result = runner.invoke(args=["create-user", "--username", "area.y@example.com",
                                     *args, "--password", "long-enough-pw"])
        assert result.exit_code != 0 and message in result.output, result.output
    assert db.session.scalar(select(func.count(User.id))) == before


def test_hq_creates_and_edits_an_area_manager(client, auth, chain):
    east, north = chain.regions
    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/people/new?role=area_manager")
    assert status == 200 and "Area manager" in html and "Regions looked after" in html
    html = client.post("/hq/people/new", data={
        "username": "area.new@example.com", "role": "area_manager", "name": "区域经理 王",
        "password": "long-enough-1"}).get_data(True)
    assert "An area manager looks after at least one region." in html
    assert 'value="区域经理 王"' in html  # nothing typed is lost
    r = client.post("/hq/people/new", data={
        "username": "area.new@example.com", "role": "area_manager", "name": "区域经理 王",
        "password": "long-enough-1", "regions": [east.id], "stores": [chain.stores[0].id]})
    assert r.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "area.new@example.com"))
    assert [r.code for r in user.regions] == ["EAST"] and user.stores == []
    r = client.post(f"/hq/people/{user.id}/edit", data={
        "username": "area.new@example.com", "role": "area_manager", "name": "区域经理 王",
        "regions": [east.id, north.id]})
    assert r.status_code == 302
    db.session.refresh(user)
    assert [r.code for r in user.regions] == ["EAST", "NORTH"]
    status, html = get_text(client, "/hq/people?role=area_manager")
    assert status == 200 and "area.new@example.com" in html and "EAST, NORTH" in html
    # a change of role drops the regions
    r = client.post(f"/hq/people/{user.id}/edit", data={
        "username": "area.new@example.com", "role": "manager", "regions": [east.id],
        "stores": [chain.stores[0].id]})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.regions == [] and [s.code for s in user.stores] == ["E001"]


def test_unknown_role_lands_on_the_account_page(client, auth, chain):
    make_user("odd@example.com", "retired_role", "Odd")
    db.session.commit()
    auth.login("odd@example.com")
    with client.get("/") as r:
        assert r.status_code == 302 and r.headers["Location"].endswith("/auth/account")
    status, html = get_text(client, "/auth/account")
    assert status == 200
    assert client.get("/manager/").status_code == 403


def test_labels_in_chinese(client, auth, chain):
    make_area_manager("area.east@example.com", chain.regions[0])
    auth.login("area.east@example.com")
    client.post("/auth/language/zh_CN")
    status, html = get_text(client, "/manager/regions")
    assert status == 200 and "我的区域" in html and "区域内排名" in html
    status, html = get_text(client, "/auth/account")
    assert "区域经理" in html


def test_every_role_lands_on_a_page_it_may_open_and_every_menu_link_works(client, auth, chain):
    """The registry's landing pages and menus match the capabilities the views ask for."""
    from auditapp.permissions import ROLES_BY_CODE

    make_area_manager("area.east@example.com", chain.regions[0])
    logins = {"hq_admin": "hq@example.com", "qa_auditor": "qa@example.com",
              "area_manager": "area.east@example.com", "manager": "m.e001@example.com",
              "shopper": "MS-101"}
    assert set(logins) == set(ROLES_BY_CODE)
    for code, username in logins.items():
        auth.login(username)
        with client.get("/", follow_redirects=True) as r:
            assert r.status_code == 200, code
            html = r.get_data(as_text=True)
        links = ROLES_BY_CODE[code].nav
        assert links
        for link in links:
            with client.application.test_request_context():
                url = url_for(link.endpoint)
            assert f'href="{url}"' in html, (code, url)
            assert client.get(url).status_code == 200, (code, url)
        auth.logout()
