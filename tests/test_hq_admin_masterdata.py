"""HQ master data through HTTP: regions, stores, CSV import, competitors, people."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from auditapp.extensions import db
from auditapp.models import AuditLog, CompetitorStore, Region, Store, User

HQ_URLS = [
    "/hq/stores", "/hq/stores/new", "/hq/stores/import", "/hq/stores/import/template.csv",
    "/hq/regions", "/hq/regions/new", "/hq/competitor-stores", "/hq/competitor-stores/new",
    "/hq/people",
    "/hq/people/new", "/hq/questionnaires", "/hq/settings", "/hq/scheduling",
]


@pytest.mark.parametrize("username", ["qa@example.com", "m.e001@example.com", "MS-101"])
def test_other_roles_are_refused(client, auth, chain, username):
    auth.login(username)
    for url in HQ_URLS:
        assert client.get(url).status_code == 403, url
    assert client.post("/hq/stores/new", data={"code": "X1"}).status_code == 403
    assert client.post(f"/hq/stores/{chain.stores[0].id}/active",
                       data={"active": "0"}).status_code == 403
    assert db.session.get(Store, chain.stores[0].id).active


def test_anonymous_goes_to_login(client, chain):
    for url in HQ_URLS:
        r = client.get(url)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"], url


def test_hq_nav_links(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/stores").get_data(as_text=True)
    for href in ("/hq/stores", "/hq/people", "/hq/questionnaires", "/hq/scheduling",
                 "/hq/settings"):
        assert f'href="{href}"' in html


def test_store_list_filters(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/stores").get_data(as_text=True)
    assert "上海南京西路店" in html and "Tianjin Binjiang" in html
    north = chain.regions[1].id
    html = client.get(f"/hq/stores?region={north}").get_data(as_text=True)
    assert "北京王府井店" in html and "上海南京西路店" not in html
    html = client.get("/hq/stores?q=王府井").get_data(as_text=True)
    assert "N001" in html and "E002" not in html
    html = client.get("/hq/stores?q=e00").get_data(as_text=True)
    assert "E001" in html and "E002" in html and "N001" not in html


def test_create_store_validates_and_keeps_input(client, auth, chain):
    auth.login("hq@example.com")
    data = {"code": "E010", "name": "苏州观前街店", "address": "观前街 8 号", "city": "苏州",
            "region_id": chain.regions[0].id, "timezone": "Mars/Olympus", "latitude": "95",
            "longitude": "120.6"}
    html = client.post("/hq/stores/new", data=data).get_data(as_text=True)
    assert "Unknown time zone" in html
    assert "Latitude must be between -90 and 90" in html
    assert 'value="苏州观前街店"' in html and 'value="Mars/Olympus"' in html
    assert db.session.scalar(select(Store).where(Store.code == "E010")) is None

    html = client.post("/hq/stores/new", data={**data, "code": "E002", "timezone":
                                               "Asia/Shanghai", "latitude": ""}).get_data(
        as_text=True)
    assert "Another store already has this code" in html

    r = client.post("/hq/stores/new", data={**data, "timezone": "Asia/Shanghai",
                                            "latitude": "31.3", "has_drive_thru": "y"})
    assert r.status_code == 302
    store = db.session.scalar(select(Store).where(Store.code == "E010"))
    assert store.name == "苏州观前街店" and store.has_drive_thru and store.latitude == 31.3
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "store",
                                                    AuditLog.action == "create"))


def test_edit_and_deactivate_store(client, auth, chain):
    auth.login("hq@example.com")
    store = chain.stores[1]
    r = client.post(f"/hq/stores/{store.id}/edit", data={
        "code": "E002", "name": "Hangzhou West Lake", "address": "Hubin Rd 2", "city": "Hangzhou",
        "region_id": chain.regions[0].id, "timezone": "Asia/Shanghai"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Store, store.id).name == "Hangzhou West Lake"
    assert client.post(f"/hq/stores/{store.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Store, store.id).active is False
    assert "<td>E002</td>" not in client.get("/hq/stores").get_data(as_text=True)
    assert "<td>E002</td>" in client.get("/hq/stores?status=inactive").get_data(as_text=True)
    # back to the page it came from, but never to another site
    r = client.post(f"/hq/stores/{store.id}/active",
                    data={"active": "1", "next": "https://evil.example/x"})
    assert r.headers["Location"] == "/hq/stores"
    db.session.expire_all()
    assert db.session.get(Store, store.id).active is True
    r = client.post(f"/hq/stores/{store.id}/active",
                    data={"active": "1", "next": "/hq/stores?page=2"})
    assert r.headers["Location"] == "/hq/stores?page=2"


def test_regions_crud(client, auth, chain):
    auth.login("hq@example.com")
    r = client.post("/hq/regions/new", data={"code": "SOUTH", "name": "South 华南",
                                             "brand_id": chain.brand.id})
    assert r.status_code == 302
    region = db.session.scalar(select(Region).where(Region.code == "SOUTH"))
    assert "South 华南" in client.get("/hq/regions").get_data(as_text=True)
    html = client.post("/hq/regions/new", data={"code": "EAST", "name": "x",
                                                "brand_id": chain.brand.id}).get_data(True)
    assert "Another region already has this code" in html
    client.post(f"/hq/regions/{region.id}/edit", data={"code": "SOUTH", "name": "华南",
                                                       "brand_id": chain.brand.id})
    client.post(f"/hq/regions/{region.id}/active", data={"active": "0"})
    db.session.expire_all()
    region = db.session.get(Region, region.id)
    assert region.name == "华南" and region.active is False


BAD_CSV = (
    "code,name,address,city,region_code,timezone,has_drive_thru,latitude,longitude\n"
    "E100,Good store,1 Road,Shanghai,EAST,Asia/Shanghai,yes,31.2,121.4\n"
    "E101,,2 Road,Shanghai,NOWHERE,Asia/Shanghai,no,,\n"
    "E102,Bad zone,3 Road,Shanghai,EAST,Europe/Atlantis,maybe,91,abc\n"
    "E100,Duplicate,4 Road,Shanghai,EAST,Asia/Shanghai,1,,\n"
)


def _upload(client, text: str | bytes, name: str = "stores.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post("/hq/stores/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_bad_csv_reports_every_problem_and_imports_nothing(client, auth, chain):
    auth.login("hq@example.com")
    before = db.session.scalar(select(db.func.count(Store.id)))
    r = _upload(client, BAD_CSV)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Nothing was imported" in html
    for row, column, text in [
        ("3", "name", "The name is empty"),
        ("3", "region_code", "Unknown region NOWHERE"),
        ("4", "timezone", "Unknown time zone Europe/Atlantis"),
        ("4", "has_drive_thru", "Write yes or no"),
        ("4", "latitude", "Must be between -90 and 90"),
        ("4", "longitude", "abc is not a number"),
        ("5", "code", "Code E100 already appears in row 2"),
    ]:
        assert f'<td class="num">{row}</td><td>{column}</td><td>{text}' in html, (row, column)
    assert db.session.scalar(select(db.func.count(Store.id))) == before
    assert db.session.scalar(select(Store).where(Store.code == "E100")) is None


def test_csv_problems_of_form(client, auth, chain):
    auth.login("hq@example.com")
    html = _upload(client, "code,name\nX,Y\n").get_data(as_text=True)
    assert "Missing column(s): address, city, region_code" in html
    html = _upload(client, "code,name\n".encode("utf-16")).get_data(as_text=True)
    assert "not UTF-8" in html
    html = client.post("/hq/stores/import", data={},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Choose a CSV file" in html


def test_good_csv_with_bom_upserts_by_code(client, auth, chain):
    auth.login("hq@example.com")
    text = (
        "code,name,address,city,region_code,timezone,has_drive_thru,latitude,longitude\r\n"
        "E001,上海南京西路旗舰店,南京西路 1 号,上海,EAST,Asia/Shanghai,yes,31.23,121.47\r\n"
        "N050,天津滨江道店,滨江道 50 号,天津,NORTH,,no,39.12,117.2\r\n"
        "N051,Tianjin Port,Port Rd,Tianjin,NORTH,Asia/Shanghai,0,,\r\n"
    )
    r = _upload(client, "\ufeff" + text)
    assert r.status_code == 302
    assert "3 stores: 2 new, 1 updated" in client.get("/hq/stores").get_data(as_text=True)
    db.session.expire_all()
    e001 = db.session.scalar(select(Store).where(Store.code == "E001"))
    assert e001.name == "上海南京西路旗舰店" and e001.id == chain.stores[0].id
    n050 = db.session.scalar(select(Store).where(Store.code == "N050"))
    assert n050.region.code == "NORTH" and n050.timezone == "Asia/Shanghai"
    assert n050.latitude == 39.12 and not n050.has_drive_thru
    # without BOM too
    r = _upload(client, text.replace("Tianjin Port", "Tianjin Harbour"))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Store.name).where(Store.code == "N051")) == "Tianjin Harbour"


def test_csv_template_download(client, auth, chain):
    auth.login("hq@example.com")
    with client.get("/hq/stores/import/template.csv") as r:
        assert r.status_code == 200 and r.mimetype == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        body = r.get_data(as_text=True)
    assert body.startswith("\ufeffcode,name,address,city,region_code,timezone,has_drive_thru")
    # the template itself imports cleanly
    assert _upload(client, body).status_code == 302


def test_competitor_crud(client, auth, chain):
    auth.login("hq@example.com")
    data = {"competitor": "Rival Burger", "name": "南京路对手店", "address": "南京路 9 号",
            "region_id": chain.regions[0].id, "timezone": "Asia/Shanghai"}
    html = client.post("/hq/competitor-stores/new", data={**data, "competitor": ""}).get_data(True)
    assert "Enter the chain" in html and 'value="南京路对手店"' in html
    assert client.post("/hq/competitor-stores/new", data=data).status_code == 302
    comp = db.session.scalar(select(CompetitorStore))
    assert "南京路对手店" in client.get("/hq/competitor-stores").get_data(as_text=True)
    client.post(f"/hq/competitor-stores/{comp.id}/edit", data={**data, "region_id": 0,
                                                         "name": "Rival Nanjing Rd"})
    client.post(f"/hq/competitor-stores/{comp.id}/active", data={"active": "0"})
    db.session.expire_all()
    comp = db.session.get(CompetitorStore, comp.id)
    assert comp.name == "Rival Nanjing Rd" and comp.region_id is None and not comp.active
    assert "<td>Rival Nanjing Rd</td>" not in client.get("/hq/competitor-stores").get_data(True)


def test_people_list_filter_by_role(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/people?role=shopper").get_data(as_text=True)
    assert "MS-101" in html and "m.e001@example.com" not in html
    html = client.get("/hq/people?role=manager").get_data(as_text=True)
    assert "m.e001@example.com" in html and "MS-101" not in html


def test_create_manager_and_shopper(client, auth, chain):
    auth.login("hq@example.com")
    e001, e002, n001 = chain.stores[0].id, chain.stores[1].id, chain.stores[2].id
    html = client.post("/hq/people/new", data={
        "username": "new.manager@example.com", "role": "manager", "name": "新店长",
        "email": "new.manager@example.com", "password": "short"}).get_data(True)
    assert "At least 8 characters" in html and "A store manager runs at least one store" in html
    assert 'value="新店长"' in html
    r = client.post("/hq/people/new", data={
        "username": "new.manager@example.com", "role": "manager", "name": "新店长",
        "email": "new.manager@example.com", "password": "long-enough-1", "locale": "zh_CN",
        "stores": [e001, e002]})
    assert r.status_code == 302
    m = db.session.scalar(select(User).where(User.username == "new.manager@example.com"))
    assert sorted(s.code for s in m.stores) == ["E001", "E002"] and m.locale == "zh_CN"

    r = client.post("/hq/people/new", data={
        "username": "MS-200", "role": "shopper", "password": "long-enough-2",
        "tied_stores": [n001], "stores": [e001]})
    assert r.status_code == 302
    s = db.session.scalar(select(User).where(User.username == "MS-200"))
    assert [t.code for t in s.tied_stores] == ["N001"] and s.stores == []
    html = client.post("/hq/people/new", data={"username": "ms-200", "role": "shopper",
                                               "password": "long-enough-3"}).get_data(True)
    assert "Another account already uses this username" in html
    html = client.post("/hq/people/new", data={"username": "MS-201", "role": "shopper"}).get_data(
        True)
    assert "Set a password for the new account" in html


def test_password_reset_and_deactivation(client, auth, chain):
    auth.login("hq@example.com")
    shopper = chain.shoppers[0]
    r = client.post(f"/hq/people/{shopper.id}/edit", data={
        "username": "MS-101", "role": "shopper", "name": "Alice", "password": "brand-new-pass"})
    assert r.status_code == 302
    r = client.post(f"/hq/people/{shopper.id}/edit", data={
        "username": "MS-101", "role": "shopper", "name": "Alice S."})
    assert r.status_code == 302  # empty password keeps the current one
    client.post(f"/hq/people/{shopper.id}/active", data={"active": "0"})
    hq_id = chain.hq.id
    client.post(f"/hq/people/{hq_id}/active", data={"active": "0"})
    auth.logout()
    assert auth.login("MS-101", "brand-new-pass").status_code == 200  # inactive: refused
    db.session.expire_all()
    user = db.session.get(User, shopper.id)
    assert user.check_password("brand-new-pass") and not user.active and user.name == "Alice S."
    assert db.session.get(User, hq_id).active  # HQ cannot deactivate themselves
    client.post("/auth/logout")
    auth.login("hq@example.com")
    client.post(f"/hq/people/{shopper.id}/active", data={"active": "1"})
    auth.logout()
    assert auth.login("MS-101", "brand-new-pass").status_code == 302
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.entity == "user")))
    assert {"update", "deactivate", "reactivate"} <= actions
