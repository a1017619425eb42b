"""A believable demo chain: regions, stores (many with Chinese names), people,
questionnaires and six months of scored visits and hotline complaints.

Everything is made from a seeded random generator, so the same call gives the same data.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from . import demo_scenarios, demo_workforce, item_types, scoring
from .extensions import db
from .models import (
    AREA_MANAGER,
    HQ_ADMIN,
    MANAGER,
    QA_AUDITOR,
    SHOPPER,
    Answer,
    Brand,
    CompetitorStore,
    Complaint,
    Questionnaire,
    Region,
    Store,
    User,
    Visit,
)
from .models.visit import COMPETITOR, MYSTERY, QA, RELEASED, SUBMITTED
from .questionnaires import default_mystery, default_qa
from .visits import TOKEN_LIFETIME, ScoringForm, new_access_token, score_and_store

DEMO_PASSWORD = "demo1234"

REGIONS = [
    ("EAST", "华东区", "Asia/Shanghai", [
        ("上海南京西路店", "上海", "南京西路1266号"),
        ("上海徐家汇店", "上海", "漕溪北路88号"),
        ("上海陆家嘴店", "上海", "陆家嘴环路1000号"),
        ("杭州西湖店", "杭州", "湖滨路28号"),
        ("南京新街口店", "南京", "中山路18号"),
        ("苏州观前街店", "苏州", "观前街168号"),
        ("Shanghai Hongqiao Airport", "上海", "Terminal 2, Hongqiao"),
        ("宁波天一广场店", "宁波", "中山东路188号"),
        ("无锡崇安寺店", "无锡", "中山路333号"),
        ("合肥淮河路店", "合肥", "淮河路99号"),
        ("Suzhou Industrial Park", "苏州", "Xinghu Street 218"),
        ("杭州滨江店", "杭州", "江南大道588号"),
    ]),
    ("NORTH", "华北区", "Asia/Shanghai", [
        ("北京王府井店", "北京", "王府井大街138号"),
        ("北京三里屯店", "北京", "三里屯路19号"),
        ("北京中关村店", "北京", "中关村大街27号"),
        ("天津滨江道店", "天津", "滨江道208号"),
        ("Beijing Capital Airport T3", "北京", "Terminal 3, Capital Airport"),
        ("济南泉城路店", "济南", "泉城路180号"),
        ("青岛台东店", "青岛", "台东三路66号"),
        ("石家庄中山路店", "石家庄", "中山东路39号"),
        ("太原柳巷店", "太原", "柳巷南路12号"),
        ("Dalian Zhongshan Square", "大连", "Zhongshan Square 6"),
        ("沈阳中街店", "沈阳", "中街路128号"),
        ("北京望京店", "北京", "望京街9号"),
    ]),
    ("SOUTH", "华南区", "Asia/Shanghai", [
        ("广州天河城店", "广州", "天河路208号"),
        ("广州北京路店", "广州", "北京路318号"),
        ("深圳华强北店", "深圳", "华强北路1002号"),
        ("深圳海岸城店", "深圳", "文心五路33号"),
        ("Shenzhen Bao'an Airport", "深圳", "Terminal 3, Bao'an"),
        ("厦门中山路店", "厦门", "中山路88号"),
        ("福州东街口店", "福州", "八一七北路68号"),
        ("东莞万达店", "东莞", "东城大道208号"),
        ("佛山祖庙店", "佛山", "祖庙路33号"),
        ("Hong Kong Causeway Bay", "香港", "Hennessy Road 500"),
        ("南宁朝阳广场店", "南宁", "朝阳路21号"),
        ("海口明珠广场店", "海口", "海秀东路8号"),
    ]),
]

COMPETITORS = [
    ("Burger Rival", "Burger Rival 人民广场店", "上海", "EAST"),
    ("Burger Rival", "Burger Rival 西单店", "北京", "NORTH"),
    ("Fried Chicken Co.", "Fried Chicken Co. 天河店", "广州", "SOUTH"),
]

COMMENTS = [
    "", "", "", "Crew was busy but polite.", "等候时间偏长。", "The fries were lukewarm.",
    "餐厅整体很干净。", "Great smile at the counter.", "收银员没有主动给小票。",
    "Table near the window was sticky.", "饮料太甜了。", "",
]
COMPLAINT_TEXTS = [
    ("speed", "顾客反映外卖等待超过 30 分钟。"),
    ("accuracy", "Customer received the wrong burger in a delivery order."),
    ("courtesy", "员工态度冷淡，没有问候。"),
    ("quality", "Nuggets were cold and dry."),
    ("cleanliness", "洗手间缺少洗手液。"),
    ("other", "Parking lot lights were broken in the evening."),
]


def months_ending(last: date, count: int) -> list[date]:
    """First days of ``count`` months ending with ``last``'s month, oldest first."""
    firsts = []
    y, m = last.year, last.month
    for _ in range(count):
        firsts.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return list(reversed(firsts))


def previous_month(today: date) -> date:
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


#: Insights structure (issue #21). One visit differs from its store's usual level per
#: dimension by a "shock" (standard deviation ``VISIT_SHOCK``); the customer's overall
#: satisfaction (the satisfaction-scale answers, so the CSM) follows the shocks with
#: ``SATISFACTION_LOADS`` (food quality most) and the loyalty answer with ``LOYALTY_LOADS``
#: (courtesy most), so the Insights page has real drivers to find.
VISIT_SHOCK = 0.15
SATISFACTION_LOADS = {"quality": 0.8, "courtesy": 0.3, "speed": 0.2, "accuracy": 0.0,
                      "cleanliness": 0.1}
LOYALTY_LOADS = {"courtesy": 1.0, "quality": 0.4}


def visit_shocks(rng: random.Random) -> dict[str, float]:
    return {d: rng.gauss(0, VISIT_SHOCK) for d in scoring.DIMENSIONS}


def item_quality(store_quality: float, dimension: str, item_type: str,
                 shocks: dict[str, float] | None) -> float:
    """The quality an answer reflects: the store's, moved by this visit's shocks."""
    if not shocks:
        return store_quality
    if item_type == scoring.SCALE7:
        moved = sum(load * shocks.get(d, 0.0) for d, load in SATISFACTION_LOADS.items())
    else:
        moved = shocks.get(dimension, 0.0)
    return min(1.0, max(0.0, store_quality + moved))


def loyalty_answer(store_quality: float, shocks: dict[str, float], rng: random.Random) -> int:
    """The 0–10 "would you come back / recommend" answer of a visit."""
    moved = sum(load * shocks.get(d, 0.0) for d, load in LOYALTY_LOADS.items())
    return int(min(10, max(0, round(1.0 + 10 * (store_quality + moved) + rng.gauss(0, 1.4)))))


#: Items whose answers carry a pattern for the Insights page's item health to find (issue
#: #21): the restroom is often closed to guests (answered N/A), and condiments are all but
#: always given (an item that tells nothing).
OFTEN_NA = {"clean_restroom": 0.3}
ALMOST_ALWAYS = {"accuracy_condiments": 0.995}


def fill_answers(visit: Visit, questionnaire: Questionnaire, quality: float, rng: random.Random,
                 shocks: dict[str, float] | None = None):
    """Plausible answers (each type's ``demo_value``) to the items the visit asks: an item
    hidden by its condition gets none, as in a real submission (``conditions.py``)."""
    answers: dict[str, dict] = {}
    form = ScoringForm.of(questionnaire)
    # the planted patterns draw from their own stream, so every other answer of the demo
    # stays as it was
    planted = random.Random(f"{visit.visit_date}:{getattr(visit.store, 'code', '')}:"
                            f"{visit.kind}:{visit.visit_type}")
    for item, form_item in zip(questionnaire.items, form.items, strict=True):
        kind = item_types.of(item)
        if not kind.asked:
            continue
        if form_item.id not in form.visible_ids(visit.visit_type, visit.kind, answers):
            continue
        if item.allow_na and rng.random() < 0.08:
            visit.answers.append(Answer(item=item, na=True))
            answers[str(item.id)] = {"na": True}
            continue
        level = item_quality(quality, item.dimension.code, item.item_type, shocks)
        value = kind.demo_value(item, visit.visit_type, level, rng)
        if item.allow_na and planted.random() < OFTEN_NA.get(item.code, 0.0):
            visit.answers.append(Answer(item=item, na=True))
            answers[str(item.id)] = {"na": True}
            continue
        if planted.random() < ALMOST_ALWAYS.get(item.code, 0.0):
            value = 1.0  # "Yes" (ALMOST_ALWAYS holds yes/no items)
        failed = kind.failed(item, visit.visit_type, value)
        if kind.photos:
            value = 0.0  # the demo stores no image files
        if kind.numeric:
            answer = Answer(item=item, value=value,
                            comment=rng.choice(COMMENTS) if failed or value == 0 else "")
        else:
            answer = Answer(item=item, text=str(value or ""))
        visit.answers.append(answer)
        answers[str(item.id)] = {"value": value, "na": False}


def _demo_flags(visit: Visit, store: Store, case: int, questionnaire: Questionnaire) -> None:
    """Make the demo's visit ``case`` (0–3) implausible in a few ways, then run the
    integrity checks on it as its submission would (case 0 stays clean)."""
    from . import integrity
    from .models import VisitEvent

    if case == 1:  # 4 minutes in the store, and not the visit type assigned
        visit.started_at = visit.submitted_at - timedelta(minutes=4)
        visit.visit_type_confirmed = False
    elif case == 2:  # checked in 2.3 km away, before the store opens, every rating alike
        visit.checkin_latitude = (store.latitude or 0) + 0.02
        visit.checkin_longitude = store.longitude
        visit.checkin_distance_m, visit.location_flagged = 2300.0, True
        store.opens_at, store.closes_at = time(10, 0), time(22, 0)
        visit.arrival_time = time(7, 40)
        for answer in visit.answers:
            if answer.item.item_type == scoring.SCALE7:
                answer.na, answer.value = False, 60.0
        score_and_store(visit)
    elif case == 3:  # a service time typed in that the timer never measured
        timed = next(a for a in visit.answers if a.item.item_type == scoring.TIMED)
        timed.na, timed.value = False, 95.0
        score_and_store(visit)
        start = visit.submitted_at - timedelta(minutes=20)
        for kind, at in (("timer_start", start), ("timer_stop", start + timedelta(seconds=240))):
            db.session.add(VisitEvent(visit_id=visit.id, kind=kind, item_id=timed.item_id,
                                      client_at=at, server_at=at))
    db.session.flush()
    integrity.assess(
        visit,
        {"visit_date": visit.visit_date, "arrival_time": visit.arrival_time,
         "visit_type_confirmed": visit.visit_type_confirmed,
         "overall_comment": visit.overall_comment or ""},
        {a.item_id: (a.value, a.na, a.comment) for a in visit.answers},
        {item.id: item.item_type for item in questionnaire.items}, visit.submitted_at)


def seed_demo(last_month: date | None = None, months: int = 6, seed: int = 7) -> dict:
    """Create the demo chain. Refuses (ValueError) when the database already has stores."""
    if db.session.scalar(select(func.count(Store.id))):
        raise ValueError(
            "The database already has stores; seed-demo only fills an empty database. "
            "Use `flask --app wsgi seed-demo --reset` to wipe it first."
        )
    rng = random.Random(seed)
    srng = random.Random(f"insights-{seed}")  # the visits' shocks and loyalty answers
    last = last_month or previous_month(date.today())
    month_firsts = months_ending(last, months)

    brand = Brand(code="DEMO", name="Demo Burger 演示汉堡")
    db.session.add(brand)
    ms_q, qa_q = default_mystery(), default_qa()
    db.session.add_all([ms_q, qa_q])

    hq = User(username="hq@example.com", name="Hui Zhang 张慧", email="hq@example.com",
              role=HQ_ADMIN)
    qa_user = User(username="qa@example.com", name="Li Wei 李伟", email="qa@example.com",
                   role=QA_AUDITOR)
    for u in (hq, qa_user):
        u.set_password(DEMO_PASSWORD)
    db.session.add_all([hq, qa_user])

    stores: list[Store] = []
    quality: dict[str, float] = {}
    for r_index, (rcode, rname, tz, rows) in enumerate(REGIONS):
        region = Region(code=rcode, name=rname, brand=brand)
        db.session.add(region)
        for s_index, (name, city, address) in enumerate(rows, start=1):
            code = f"{rcode[0]}{s_index:03d}"
            store = Store(
                code=code, name=name, city=city, timezone=tz,
                address=address if address.isascii() else f"{city}市{address}",
                region=region, has_drive_thru=(s_index % 3 != 0),
                latitude=31.2 + r_index * 4 + s_index * 0.01,
                longitude=121.4 - r_index * 4 + s_index * 0.01,
            )
            stores.append(store)
            quality[code] = min(1.0, max(0.1, rng.betavariate(5, 2)))
            db.session.add(store)
    for comp, name, city, rcode in COMPETITORS:
        region = next(r for r in brand.regions if r.code == rcode)
        db.session.add(CompetitorStore(competitor=comp, name=name, address=city, region=region))
    db.session.flush()

    # a manager per store (one of them runs two stores), and 12 shoppers
    for i, store in enumerate(stores):
        m = User(username=f"manager.{store.code.lower()}@example.com", name=f"Manager {store.code}",
                 role=MANAGER, email=f"manager.{store.code.lower()}@example.com")
        m.set_password(DEMO_PASSWORD)
        m.stores.append(store)
        if i == 0:
            m.stores.append(stores[1])
        db.session.add(m)
    # an area manager for the East region (every store of it)
    area = User(username="area.east@example.com", name="华东区域经理",
                role=AREA_MANAGER, email="area.east@example.com")
    area.set_password(DEMO_PASSWORD)
    area.regions.append(next(r for r in brand.regions if r.code == "EAST"))
    db.session.add(area)
    shoppers = []
    for i in range(1, 13):
        s = User(username=f"MS-{i:03d}", name=f"Shopper {i}", role=SHOPPER)
        s.set_password(DEMO_PASSWORD)
        shoppers.append(s)
        db.session.add(s)
    db.session.flush()
    # a shopper must never visit the store they are tied to
    shoppers[0].tied_stores.append(stores[0])

    visit_types = ("walk_in", "dine_in", "drive_thru")
    visits = 0
    competitor_rows = db.session.scalars(select(CompetitorStore)).all()
    for m_index, first in enumerate(month_firsts):
        month = f"{first:%Y-%m}"
        for s_index, store in enumerate(stores):
            types = visit_types if store.has_drive_thru else visit_types[:2]
            vtype = types[(m_index + s_index) % len(types)]
            eligible = [sh for sh in shoppers if store not in sh.tied_stores]
            shopper = eligible[(m_index * 5 + s_index) % len(eligible)]
            day = 1 + rng.randrange(25)
            visit = Visit(
                kind=MYSTERY, store=store, evaluator=shopper, questionnaire=ms_q, month=month,
                visit_type=vtype, status=RELEASED, visit_date=first.replace(day=day),
                arrival_time=time(11 + rng.randrange(9), rng.randrange(60)),
                visit_type_confirmed=True, order_description="Combo meal 套餐 + drink",
                receipt_total=round(rng.uniform(25, 80), 2),
                access_token=new_access_token(),
                token_expires_at=datetime.combine(first.replace(day=day), time(0, 0))
                + TOKEN_LIFETIME,
                submitted_at=datetime.combine(first.replace(day=day), time(20, 0)),
                released_at=datetime.combine(first.replace(day=min(day + 2, 28)), time(9, 0)),
                reviewed_by=hq,
            )
            # one shopper scores too kindly (issue #20: flagged lenient)
            lenient = shopper is shoppers[demo_workforce.LENIENT_SHOPPER]
            shocks = visit_shocks(srng)
            fill_answers(visit, ms_q, 1.0 if lenient else quality[store.code], rng, shocks)
            visit.loyalty = loyalty_answer(quality[store.code], shocks, srng)
            db.session.add(visit)
            score_and_store(visit)
            visits += 1
            # a QA audit every quarter per store, staggered
            if (m_index + s_index) % 3 == 0:
                qa_day = 1 + rng.randrange(25)
                audit = Visit(
                    kind=QA, store=store, evaluator=qa_user, questionnaire=qa_q, month=month,
                    visit_type="dine_in", status=RELEASED, visit_date=first.replace(day=qa_day),
                    submitted_at=datetime.combine(first.replace(day=qa_day), time(16, 0)),
                    released_at=datetime.combine(first.replace(day=min(qa_day + 1, 28)),
                                                 time(9, 0)),
                    reviewed_by=hq,
                )
                fill_answers(audit, qa_q, min(1.0, quality[store.code] + 0.1), rng)
                db.session.add(audit)
                score_and_store(audit)
                visits += 1
            # hotline complaints: weaker stores get more
            weights = (5, 3, 1, 1 - quality[store.code])
            for _ in range(rng.choices((0, 1, 2, 3), weights=weights)[0]):
                received = datetime.combine(first.replace(day=1 + rng.randrange(27)),
                                            time(rng.randrange(24), rng.randrange(60)))
                category, text = rng.choice(COMPLAINT_TEXTS)
                resolved = rng.random()
                db.session.add(
                    Complaint(
                        store=store, received_at=received,
                        channel=rng.choice(("phone", "app", "email", "social")),
                        severity=rng.choices(("minor", "major", "critical"), (6, 3, 1))[0],
                        category=category, description=text,
                        resolved_at=(
                            received + timedelta(hours=rng.randrange(2, 47)) if resolved < 0.6
                            else received + timedelta(hours=rng.randrange(49, 200))
                            if resolved < 0.9 else None
                        ),
                    )
                )
        # competitor benchmarks every month
        for c_index, comp in enumerate(competitor_rows):
            day = 3 + rng.randrange(20)
            visit = Visit(
                kind=COMPETITOR, competitor=comp, evaluator=shoppers[(m_index + c_index) % 12],
                questionnaire=ms_q, month=month, visit_type="walk_in", status=RELEASED,
                visit_date=first.replace(day=day),
                submitted_at=datetime.combine(first.replace(day=day), time(19, 0)),
                released_at=datetime.combine(first.replace(day=day + 2), time(9, 0)),
            )
            fill_answers(visit, ms_q, 0.6, rng)
            db.session.add(visit)
            score_and_store(visit)
            visits += 1

    # the current month: assignments waiting for the shoppers, one awaiting review
    current = last.replace(day=28) + timedelta(days=4)
    current = current.replace(day=1)
    month = f"{current:%Y-%m}"
    for s_index, store in enumerate(stores):
        eligible = [sh for sh in shoppers if store not in sh.tied_stores]
        types = visit_types if store.has_drive_thru else visit_types[:2]
        visit = Visit(
            kind=MYSTERY, store=store, evaluator=eligible[(len(month_firsts) * 5 + s_index) % 11],
            questionnaire=ms_q, month=month,
            visit_type=types[(len(month_firsts) + s_index) % len(types)],
            due_date=current.replace(day=25), access_token=new_access_token(),
            token_expires_at=datetime.combine(current.replace(day=25), time(0, 0))
            + TOKEN_LIFETIME,
        )
        if s_index < 4:  # awaiting review; three of them raise integrity flags
            visit.status = SUBMITTED
            visit.visit_date = current.replace(day=2 + s_index)
            visit.arrival_time = time(12, 10)
            visit.visit_type_confirmed = True
            visit.submitted_at = datetime.combine(visit.visit_date, time(19, 0))
            visit.started_at = visit.submitted_at - timedelta(minutes=38)
            shocks = visit_shocks(srng)
            fill_answers(visit, ms_q, quality[store.code], rng, shocks)
            visit.loyalty = loyalty_answer(quality[store.code], shocks, srng)
            score_and_store(visit)
        db.session.add(visit)
        if s_index < 4:
            db.session.flush()
            _demo_flags(visit, store, s_index, ms_q)
    db.session.flush()
    extra = demo_scenarios.seed(hq.id, rng)  # scenario shops and automatic actions
    demo_workforce.seed_workforce(hq, shoppers, stores, ms_q.code,
                                  [f"{m:%Y-%m}" for m in month_firsts], month, rng)
    return {
        **extra,
        "stores": len(stores),
        "regions": len(REGIONS),
        "shoppers": len(shoppers),
        "visits": visits,
        "months": [f"{m:%Y-%m}" for m in month_firsts],
    }
