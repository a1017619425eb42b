"""Small builders for test data. Every test that needs a chain uses ``make_chain``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from werkzeug.security import generate_password_hash

from auditapp import scoring
from auditapp.extensions import db
from auditapp.models import (
    HQ_ADMIN,
    MANAGER,
    QA_AUDITOR,
    SHOPPER,
    Answer,
    Brand,
    Complaint,
    Questionnaire,
    Region,
    Store,
    User,
    Visit,
)
from auditapp.models.visit import MYSTERY, RELEASED
from auditapp.questionnaires import default_mystery, default_qa
from auditapp.visits import new_access_token, score_and_store

PASSWORD = "secret-pass"


@dataclass
class Chain:
    brand: Brand
    regions: list[Region]
    stores: list[Store]
    hq: User
    qa: User
    managers: list[User]
    shoppers: list[User]
    ms_q: Questionnaire
    qa_q: Questionnaire
    extra: dict = field(default_factory=dict)


#: The production scheme (scrypt, as werkzeug's default) at its lowest cost: the real
#: parameters cost about 0.1 s a hash and a login, and the suite logs in about a thousand
#: times. conftest.py's ``cheap_password_hashing`` makes the app hash this way in tests.
TEST_PASSWORD_METHOD = "scrypt:256:8:1"  # OpenSSL refuses a smaller N here


def make_user(username: str, role: str, name: str = "", password: str = PASSWORD) -> User:
    user = User(username=username, role=role, name=name or username)
    user.password_hash = generate_password_hash(password, method=TEST_PASSWORD_METHOD)
    db.session.add(user)
    return user


def make_chain() -> Chain:
    brand = Brand(code="TB", name="Test Burger")
    east = Region(code="EAST", name="East 华东", brand=brand)
    north = Region(code="NORTH", name="North 华北", brand=brand)
    stores = [
        Store(code="E001", name="上海南京西路店", address="南京西路 1 号", region=east,
              has_drive_thru=True, latitude=31.23, longitude=121.47),
        Store(code="E002", name="Hangzhou Lake", address="Hubin Rd 2", region=east),
        Store(code="N001", name="北京王府井店", address="王府井 3 号", region=north,
              has_drive_thru=True),
        Store(code="N002", name="Tianjin Binjiang", address="Binjiang Rd 4", region=north),
    ]
    db.session.add_all([brand, east, north, *stores])
    ms_q, qa_q = default_mystery(), default_qa()
    db.session.add_all([ms_q, qa_q])
    hq = make_user("hq@example.com", HQ_ADMIN, "Head Office")
    qa = make_user("qa@example.com", QA_AUDITOR, "Quality Auditor")
    managers = []
    for store in stores:
        m = make_user(f"m.{store.code.lower()}@example.com", MANAGER, f"Manager {store.code}")
        m.stores.append(store)
        managers.append(m)
    shoppers = [
        make_user("MS-101", SHOPPER, "Alice Shopper"),
        make_user("MS-102", SHOPPER, "Bob Shopper"),
        make_user("MS-103", SHOPPER, "Carol Shopper"),
    ]
    db.session.commit()
    return Chain(brand, [east, north], stores, hq, qa, managers, shoppers, ms_q, qa_q)


def answer_all(visit: Visit, values: dict[str, object] | None = None, default=None) -> None:
    """Answer every item of the visit's questionnaire. ``values`` maps item code → value
    (``"na"`` for N/A); other items get ``default`` or a best answer."""
    values = values or {}
    for item in visit.questionnaire.items:
        v = values.get(item.code, default)
        if v == "na":
            visit.answers.append(Answer(item=item, na=True))
            continue
        if item.item_type in ("info", "photo"):
            continue  # only read / no image files here
        if item.item_type == "text":  # a follow-up: answered when the test says so
            if item.code in values:
                visit.answers.append(Answer(item=item, text=str(v)))
            continue
        if item.item_type == "number" and item.code not in values:
            lo, hi = item.config["lo"], item.config["hi"]
            v = (lo + hi) / 2 if v is None else (hi + 10 if v == 0 else v)  # 0: a failure
        if item.item_type == "choice" and item.code not in values:
            points = [o["points"] for o in item.config["options"]]
            v = points.index(max(points) if v is None else min(points))
        if v is None:
            v = {"yesno": 1.0, "scale7": 90.0, "timed": 60.0}[item.item_type]
        visit.answers.append(Answer(item=item, value=float(v)))


def make_visit(
    chain: Chain,
    store: Store,
    *,
    kind: str = MYSTERY,
    status: str = RELEASED,
    visit_date: date = date(2026, 5, 10),
    visit_type: str = "walk_in",
    shopper: User | None = None,
    values: dict[str, object] | None = None,
    default=None,
) -> Visit:
    questionnaire = chain.qa_q if kind == "qa" else chain.ms_q
    visit = Visit(
        kind=kind,
        store=store,
        evaluator=shopper or (chain.qa if kind == "qa" else chain.shoppers[0]),
        questionnaire=questionnaire,
        month=f"{visit_date:%Y-%m}",
        visit_type=visit_type,
        status=status,
        visit_date=visit_date,
        access_token=new_access_token(),
        submitted_at=datetime.combine(visit_date, datetime.min.time()),
        released_at=datetime.combine(visit_date, datetime.min.time())
        if status == RELEASED else None,
    )
    db.session.add(visit)
    answer_all(visit, values, default)
    score_and_store(visit)
    db.session.commit()
    return visit


def make_complaint(
    store: Store,
    received_at: datetime,
    severity: str = "minor",
    resolved_after_hours: float | None = None,
) -> Complaint:
    from datetime import timedelta

    c = Complaint(
        store=store,
        received_at=received_at,
        severity=severity,
        resolved_at=None
        if resolved_after_hours is None
        else received_at + timedelta(hours=resolved_after_hours),
    )
    db.session.add(c)
    db.session.commit()
    return c


__all__ = ["PASSWORD", "Chain", "answer_all", "make_chain", "make_complaint", "make_visit",
           "make_user", "scoring"]
