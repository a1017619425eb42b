"""A realistic chain-scale data set, made fast: ``flask --app wsgi generate``.

For load and speed checks (``benchmarks/``): regions, N stores (Chinese and English
names, some with a drive-thru), a manager per store, shoppers, the default
questionnaires, and for every store and month one released mystery visit with all its
answers, plus a QA audit per store per quarter and hotline complaints.

Rows go in by the table, never object by object, with explicit primary keys: bulk
``db.session.execute(insert(Model), rows)`` (executemany) on SQLite, and ``COPY … FROM
STDIN`` on PostgreSQL (whose id sequences are then moved past the new ids). Every visit's scores
(item scores, S_d, V, CSM) come from ``scoring.score_visit`` — the one implementation —
called on plain ``ItemAnswer`` values (``visits.ScoringForm``), as a submission is.

The same seed gives the same data.
"""

from __future__ import annotations

import math
import random
import time as clock
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from . import scoring
from .demo import (
    COMMENTS,
    COMPLAINT_TEXTS,
    item_quality,
    loyalty_answer,
    months_ending,
    previous_month,
    visit_shocks,
)
from .extensions import db
from .models import (
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
    VisitDimensionScore,
    shopper_store_ties,
    store_managers,
    utcnow,
)
from .models.complaint import local_date, resolution_seconds
from .models.questionnaire import KIND_MYSTERY, KIND_QA, PUBLISHED
from .models.visit import ASSIGNED, MYSTERY, QA, RELEASED
from .questionnaires import default_mystery, default_qa
from .visits import TOKEN_LIFETIME, FormItem, ScoringForm, new_access_token

PASSWORD = "demo1234"

#: (code, name, (cities …)): up to 20 regions.
REGIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("SH", "上海区 Shanghai", ("上海",)),
    ("BJ", "北京区 Beijing", ("北京",)),
    ("GD", "广东区 Guangdong", ("广州", "深圳", "东莞", "佛山")),
    ("ZJ", "浙江区 Zhejiang", ("杭州", "宁波", "温州")),
    ("JS", "江苏区 Jiangsu", ("南京", "苏州", "无锡")),
    ("SC", "四川区 Sichuan", ("成都", "绵阳")),
    ("HB", "湖北区 Hubei", ("武汉", "宜昌")),
    ("HN", "湖南区 Hunan", ("长沙", "株洲")),
    ("FJ", "福建区 Fujian", ("厦门", "福州")),
    ("SD", "山东区 Shandong", ("青岛", "济南")),
    ("TJ", "天津区 Tianjin", ("天津",)),
    ("CQ", "重庆区 Chongqing", ("重庆",)),
    ("SX", "陕西区 Shaanxi", ("西安",)),
    ("HE", "河南区 Henan", ("郑州", "洛阳")),
    ("LN", "辽宁区 Liaoning", ("沈阳", "大连")),
    ("AH", "安徽区 Anhui", ("合肥", "芜湖")),
    ("YN", "云南区 Yunnan", ("昆明",)),
    ("GX", "广西区 Guangxi", ("南宁", "桂林")),
    ("HI", "海南区 Hainan", ("海口", "三亚")),
    ("HK", "港澳区 Hong Kong & Macau", ("香港", "澳门")),
]
CITY_EN = {
    "上海": "Shanghai", "北京": "Beijing", "广州": "Guangzhou", "深圳": "Shenzhen",
    "东莞": "Dongguan", "佛山": "Foshan", "杭州": "Hangzhou", "宁波": "Ningbo",
    "温州": "Wenzhou", "南京": "Nanjing", "苏州": "Suzhou", "无锡": "Wuxi", "成都": "Chengdu",
    "绵阳": "Mianyang", "武汉": "Wuhan", "宜昌": "Yichang", "长沙": "Changsha",
    "株洲": "Zhuzhou", "厦门": "Xiamen", "福州": "Fuzhou", "青岛": "Qingdao", "济南": "Jinan",
    "天津": "Tianjin", "重庆": "Chongqing", "西安": "Xi'an", "郑州": "Zhengzhou",
    "洛阳": "Luoyang", "沈阳": "Shenyang", "大连": "Dalian", "合肥": "Hefei", "芜湖": "Wuhu",
    "昆明": "Kunming", "南宁": "Nanning", "桂林": "Guilin", "海口": "Haikou", "三亚": "Sanya",
    "香港": "Hong Kong", "澳门": "Macau",
}
PLACES_ZH = ("人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "万达广场", "火车站",
             "机场", "大学城", "步行街", "东站", "五一广场", "高新区", "滨江", "世纪广场", "南门",
             "北街", "体育中心", "会展中心")
PLACES_EN = ("Airport", "Railway Station", "City Centre", "University Town", "Riverside",
             "High-Tech Park", "Expo Centre", "Old Town", "Harbour", "Central Plaza",
             "North Gate", "Outlet Mall")
VISIT_TYPES = ("walk_in", "dine_in", "drive_thru")
BATCH = 5000


def _published(code: str, kind: str) -> Questionnaire:
    """The latest published questionnaire of the family, else the default one, added."""
    found = db.session.scalars(
        select(Questionnaire)
        .where(Questionnaire.code == code, Questionnaire.kind == kind,
               Questionnaire.status == PUBLISHED)
        .order_by(Questionnaire.version.desc())
    ).first()
    if found is not None:
        return found
    q = default_mystery() if kind == KIND_MYSTERY else default_qa()
    db.session.add(q)
    db.session.flush()
    return q


def _next_id(column) -> int:
    return (db.session.scalar(select(func.max(column))) or 0) + 1


def _bulk(model, rows: list[dict]) -> None:
    """INSERT the rows (dicts with the same keys): executemany in batches, or on
    PostgreSQL one ``COPY … FROM STDIN`` (psycopg 3), several times faster for big tables."""
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        _copy(model, rows)
        return
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def _copy(model, rows: list[dict]) -> None:
    """COPY the rows in psycopg's text format (JSON columns must be None here)."""
    table = getattr(model, "__table__", model)
    columns = list(rows[0])
    # the session's own connection: the rows join its transaction
    driver = db.session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with driver.cursor() as cursor, cursor.copy(
        f'COPY "{table.name}" ({names}) FROM STDIN'
    ) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler (λ is small here)."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _answer_value(item: FormItem, quality: float, visit_type: str, rng: random.Random):
    """A plausible answer for a store of underlying quality 0–1 (as the demo does)."""
    return item.kind.demo_value(item, visit_type, quality, rng)


class _Visits:
    """Collects visit, answer and dimension-score rows, scoring each visit as it goes."""

    def __init__(self, first_visit_id: int, first_answer_id: int, now: datetime) -> None:
        self.next_visit_id = first_visit_id
        self.next_answer_id = first_answer_id
        self.now = now
        self.visits: list[dict] = []
        self.answers: list[dict] = []
        self.dimensions: list[dict] = []
        self.count = {MYSTERY: 0, QA: 0}
        self.answer_count = 0

    def add(self, form: ScoringForm, quality: float, rng: random.Random,
            srng: random.Random | None = None, **visit: object) -> None:
        """One visit; ``srng`` (mystery visits): draw the visit's shocks and loyalty answer
        (``demo.visit_shocks``), so satisfaction has drivers for Insights to find."""
        visit_id = self.next_visit_id
        self.next_visit_id += 1
        visit_type = str(visit["visit_type"])
        shocks = visit_shocks(srng) if srng is not None else None
        item_answers: list[scoring.ItemAnswer] = []
        answer_rows: list[dict] = []
        given: dict[str, dict] = {}
        for item in form.items:  # every answer first, then only those asked are kept
            if item.kind.asked and not item.kind.photos:  # no files here
                na = item.allow_na and rng.random() < 0.08
                level = item_quality(quality, item.dimension, item.item_type, shocks)
                value = None if na else _answer_value(item, level, visit_type, rng)
                given[str(item.id)] = {"value": value, "na": na}
        shown = form.visible_ids(visit_type, str(visit.get("kind", MYSTERY)), given)
        for item in form.items:
            if item.id not in shown or str(item.id) not in given:
                continue  # hidden by its condition (not asked, not scored)
            value, na = given[str(item.id)]["value"], given[str(item.id)]["na"]
            item_answers.append(item.scoring_answer(visit_type, value, na))
            text = value if isinstance(value, str) else ""
            answer_rows.append(
                {
                    "id": self.next_answer_id, "visit_id": visit_id, "item_id": item.id,
                    "value": None if text else value, "na": na, "text": text,
                    "comment": rng.choice(COMMENTS) if value == 0 else "",
                    "voided": False,
                }
            )
            self.next_answer_id += 1
        result = scoring.score_visit(item_answers, form.dimension_weights)
        for row, s in zip(answer_rows, result.item_scores, strict=True):
            row["score"] = s
        self.answers.extend(answer_rows)
        self.answer_count += len(answer_rows)
        for code, s in result.dimensions.items():
            self.dimensions.append(
                {"visit_id": visit_id, "dimension": code, "score": s,
                 "weight": form.dimension_weights.get(code, 0.0)}
            )
        self.visits.append(
            {
                "id": visit_id, "questionnaire_id": form.id, "competitor_id": None,
                "due_date": None, "access_token": None, "token_expires_at": None,
                "client_submission_id": None, "draft": None, "started_at": None,
                "checkin_latitude": None, "checkin_longitude": None,
                "checkin_distance_m": None, "location_flagged": False, "return_reason": "",
                "acknowledged_at": None, "acknowledged_by_id": None,
                "overall_comment": "", "order_description": "", "receipt_total": None,
                "arrival_time": None, "visit_type_confirmed": True, "created_at": self.now,
                "score": result.score, "csm": result.csm, "csm_grade": result.csm_grade,
                "satisfied": result.satisfied, "scored_at": self.now,
                "loyalty": loyalty_answer(quality, shocks, srng) if shocks else None,
                **visit,
            }
        )
        self.count[str(visit["kind"])] += 1

    def flush(self) -> None:
        """Insert what was collected (visits first: answers and scores point to them)."""
        _bulk(Visit, self.visits)
        _bulk(Answer, self.answers)
        _bulk(VisitDimensionScore, self.dimensions)
        self.visits, self.answers, self.dimensions = [], [], []


def _reset_sequences(tables: Iterable[str]) -> None:
    """After inserting explicit ids, move PostgreSQL's id sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        )


def generate_chain(
    stores: int, months: int, last_month: date | None = None, seed: int = 1,
    assign_month: date | None = None,
) -> dict:
    """Fill an empty database with ``stores`` stores and ``months`` months of scored
    visits ending with ``last_month`` (default: last month). Refuses (ValueError) when the
    database already has stores. Returns a summary of what was made.

    With ``assign_month`` (a month's first day, e.g. the current month), every store also
    gets that month's mystery visit as an open assignment (see ``assign_visits``); the
    rest of the data set is the same as without it."""
    if stores < 1 or months < 1:
        raise ValueError("Give at least one store and one month.")
    if db.session.scalar(select(func.count(Store.id))):
        raise ValueError(
            "The database already has stores; generate only fills an empty database "
            "(use a fresh database, e.g. DATABASE_URL=sqlite:////tmp/bench.sqlite)."
        )
    started = clock.perf_counter()
    rng = random.Random(seed)
    srng = random.Random(f"insights-{seed}")  # visits' shocks and loyalty (demo.visit_shocks)
    now = utcnow().replace(microsecond=0)
    last = last_month or previous_month(date.today())
    month_firsts = months_ending(last, months)
    password_hash = generate_password_hash(PASSWORD)  # hashed once, shared by every account

    brand = db.session.scalars(select(Brand).order_by(Brand.id)).first()
    if brand is None:
        brand = Brand(code="CHAIN", name="Chain Burger 连锁汉堡")
        db.session.add(brand)
        db.session.flush()
    ms_form = ScoringForm.of(_published("MS-STD", KIND_MYSTERY))
    qa_form = ScoringForm.of(_published("QA-STD", KIND_QA))

    # --- regions and stores ---------------------------------------------------------------
    n_regions = min(len(REGIONS), max(1, round(math.sqrt(stores) / 3)))
    region_id = _next_id(Region.id)
    region_rows = []
    for i, (code, name, _cities) in enumerate(REGIONS[:n_regions]):
        region_rows.append({"id": region_id + i, "brand_id": brand.id, "code": f"G{code}",
                            "name": name, "active": True})
    _bulk(Region, region_rows)

    store_id = _next_id(Store.id)
    store_rows, quality = [], []
    for n in range(stores):
        r_index = n % n_regions
        _rcode, _rname, cities = REGIONS[r_index]
        city = cities[rng.randrange(len(cities))]
        number = n // n_regions + 1
        if rng.random() < 0.65:
            place = PLACES_ZH[rng.randrange(len(PLACES_ZH))]
            name = f"{city}{place}{number}号店"
            address = f"{city}{place}{rng.randrange(1, 999)}号"
        else:
            place = PLACES_EN[rng.randrange(len(PLACES_EN))]
            name = f"{CITY_EN[city]} {place} {number}"
            address = f"{rng.randrange(1, 999)} {place} Road, {CITY_EN[city]}"
        store_rows.append(
            {
                "id": store_id + n, "region_id": region_rows[r_index]["id"],
                "code": f"S{n + 1:05d}", "name": name, "address": address, "city": city,
                "timezone": "Asia/Hong_Kong" if city in ("香港", "澳门") else "Asia/Shanghai",
                "has_drive_thru": rng.random() < 0.35,
                "latitude": round(22 + rng.random() * 18, 5),
                "longitude": round(102 + rng.random() * 20, 5), "active": True,
            }
        )
        quality.append(min(1.0, max(0.1, rng.betavariate(5, 2))))
    _bulk(Store, store_rows)

    # --- people: HQ, QA auditors, a manager per store, shoppers ---------------------------
    user_id = _next_id(User.id)
    taken = set(db.session.scalars(select(User.username)))

    def user(username: str, role: str, name: str, email: str | None = None) -> dict:
        nonlocal user_id
        while username in taken:  # a database with accounts but no stores yet
            username = f"gen.{username}"
        taken.add(username)
        row = {"id": user_id, "username": username, "name": name, "email": email,
               "role": role, "password_hash": password_hash, "locale": None, "active": True}
        user_id += 1
        return row

    hq = user("hq@example.com", HQ_ADMIN, "HQ Admin 总部", "hq@example.com")
    auditors = [
        user(f"qa{i}@example.com", QA_AUDITOR, f"QA Auditor {i}", f"qa{i}@example.com")
        for i in range(1, max(2, stores // 200) + 1)
    ]
    managers = [
        user(f"manager.{s['code'].lower()}@example.com", MANAGER, f"Manager {s['code']}",
             f"manager.{s['code'].lower()}@example.com")
        for s in store_rows
    ]
    shoppers = [user(f"MS-{i:04d}", SHOPPER, f"Shopper {i}")
                for i in range(1, max(3, stores // 10) + 1)]
    _bulk(User, [hq, *auditors, *managers, *shoppers])
    db.session.execute(
        insert(store_managers),
        [{"user_id": m["id"], "store_id": s["id"]}
         for m, s in zip(managers, store_rows, strict=True)],
    )
    # each shopper is tied to one store they must never visit
    ties = {(sh["id"], store_rows[(i * 7) % stores]["id"]) for i, sh in enumerate(shoppers)}
    db.session.execute(
        insert(shopper_store_ties), [{"user_id": u, "store_id": s} for u, s in sorted(ties)]
    )

    # --- visits, answers, stored scores, complaints --------------------------------------
    visits = _Visits(_next_id(Visit.id), _next_id(Answer.id), now)
    complaint_id = _next_id(Complaint.id)
    complaints = 0
    for m_index, first in enumerate(month_firsts):
        month = f"{first:%Y-%m}"
        complaint_rows: list[dict] = []
        for s_index, store in enumerate(store_rows):
            q = quality[s_index]
            types = VISIT_TYPES if store["has_drive_thru"] else VISIT_TYPES[:2]
            shopper = shoppers[(m_index * 5 + s_index) % len(shoppers)]
            if (shopper["id"], store["id"]) in ties:
                shopper = shoppers[(m_index * 5 + s_index + 1) % len(shoppers)]
            day = first.replace(day=1 + rng.randrange(25))
            visits.add(
                ms_form, q, rng, srng, kind=MYSTERY, store_id=store["id"],
                evaluator_id=shopper["id"], month=month,
                visit_type=types[(m_index + s_index) % len(types)], status=RELEASED,
                visit_date=day, arrival_time=time(11 + rng.randrange(9), rng.randrange(60)),
                order_description="Combo meal 套餐 + drink",
                receipt_total=round(rng.uniform(25, 80), 2),
                submitted_at=datetime.combine(day, time(20, 0)),
                released_at=datetime.combine(day + timedelta(days=2), time(9, 0)),
                reviewed_by_id=hq["id"],
            )
            if (m_index + s_index) % 3 == 0:  # a QA audit per store per quarter, staggered
                qa_day = first.replace(day=1 + rng.randrange(25))
                visits.add(
                    qa_form, min(1.0, q + 0.1), rng, kind=QA, store_id=store["id"],
                    evaluator_id=auditors[s_index % len(auditors)]["id"], month=month,
                    visit_type="dine_in", status=RELEASED, visit_date=qa_day,
                    submitted_at=datetime.combine(qa_day, time(16, 0)),
                    released_at=datetime.combine(qa_day + timedelta(days=1), time(9, 0)),
                    reviewed_by_id=hq["id"],
                )
            # hotline: Poisson, weaker stores get more complaints
            for _ in range(_poisson(rng, 0.2 + 1.6 * (1 - q))):
                received = datetime.combine(
                    first.replace(day=1 + rng.randrange(27)),
                    time(rng.randrange(24), rng.randrange(60)),
                )
                r = rng.random()
                hours = (rng.uniform(1, 47.5) if r < 0.6
                         else rng.uniform(49, 240) if r < 0.9 else None)
                resolved = received + timedelta(hours=hours) if hours is not None else None
                category, description = COMPLAINT_TEXTS[rng.randrange(len(COMPLAINT_TEXTS))]
                complaint_rows.append(
                    {
                        "id": complaint_id, "store_id": store["id"], "received_at": received,
                        "received_on": local_date(received, store["timezone"]),
                        "channel": ("phone", "app", "email", "social")[rng.randrange(4)],
                        "severity": rng.choices(scoring.SEVERITIES, (6, 3, 1))[0],
                        "category": category, "description": description,
                        "steps_done": None, "handling_notes": "", "resolved_at": resolved,
                        "resolution_seconds": resolution_seconds(received, resolved),
                        "created_at": received, "created_by_id": None,
                    }
                )
                complaint_id += 1
        visits.flush()
        _bulk(Complaint, complaint_rows)
        complaints += len(complaint_rows)

    _reset_sequences(("regions", "stores", "users", "visits", "answers", "complaints",
                      "brands", "questionnaires", "dimensions", "items"))
    assigned = assign_visits(assign_month, seed=seed) if assign_month is not None else 0
    return {
        "regions": n_regions,
        "stores": stores,
        "managers": len(managers),
        "shoppers": len(shoppers),
        "qa_auditors": len(auditors),
        "mystery_visits": visits.count[MYSTERY],
        "qa_audits": visits.count[QA],
        "answers": visits.answer_count,
        "complaints": complaints,
        "assigned": assigned,
        "months": [f"{m:%Y-%m}" for m in month_firsts],
        "seconds": clock.perf_counter() - started,
    }


def assign_visits(month: date, seed: int = 1, days_left: int = 5) -> int:
    """Give every active store of the database one open mystery assignment for ``month``
    (its first day): status ``assigned``, a shopper (never one tied to the store), the
    latest published mystery questionnaire, a due date ``days_left`` days before the
    month's end and an access token (random, valid ``TOKEN_LIFETIME``), as HQ's
    scheduling does. Stores that already have a visit that month are skipped. For the
    end-of-month submission load benchmark. Commits; returns how many were made."""
    rng = random.Random(f"assign-{seed}-{month:%Y-%m}")
    label = f"{month:%Y-%m}"
    now = utcnow().replace(microsecond=0)
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    due = next_month - timedelta(days=days_left)
    form = _published("MS-STD", KIND_MYSTERY)
    stores = db.session.execute(
        select(Store.id, Store.has_drive_thru).where(Store.active.is_(True)).order_by(Store.id)
    ).all()
    shoppers = list(db.session.scalars(
        select(User.id).where(User.role == SHOPPER, User.active.is_(True)).order_by(User.id)
    ))
    if not shoppers:
        raise ValueError("There are no active shoppers to assign.")
    ties = {(u, s) for u, s in db.session.execute(select(shopper_store_ties))}
    taken = set(db.session.scalars(select(Visit.store_id).where(
        Visit.month == label, Visit.kind == MYSTERY, Visit.store_id.is_not(None))))
    first_id = _next_id(Visit.id)
    rows: list[dict] = []
    for n, (store_id, drive_thru) in enumerate(stores):
        if store_id in taken:
            continue
        shopper = shoppers[(n + rng.randrange(len(shoppers))) % len(shoppers)]
        if (shopper, store_id) in ties:
            shopper = shoppers[(shoppers.index(shopper) + 1) % len(shoppers)]
        types = VISIT_TYPES if drive_thru else VISIT_TYPES[:2]
        rows.append({
            "id": first_id + len(rows), "kind": MYSTERY, "store_id": store_id,
            "competitor_id": None, "evaluator_id": shopper, "questionnaire_id": form.id,
            "month": label, "visit_type": types[rng.randrange(len(types))], "due_date": due,
            "status": ASSIGNED, "access_token": new_access_token(),
            "token_expires_at": now + TOKEN_LIFETIME, "client_submission_id": None,
            "draft": None, "visit_date": None, "arrival_time": None,
            "visit_type_confirmed": None, "order_description": "", "receipt_total": None,
            "overall_comment": "", "started_at": None, "checkin_latitude": None,
            "checkin_longitude": None, "checkin_distance_m": None, "location_flagged": False,
            "created_at": now, "submitted_at": None, "released_at": None,
            "reviewed_by_id": None, "return_reason": "", "acknowledged_at": None,
            "acknowledged_by_id": None, "score": None, "csm": None, "csm_grade": None,
            "satisfied": None, "scored_at": None,
        })
    _bulk(Visit, rows)
    _reset_sequences(("visits",))
    return len(rows)
