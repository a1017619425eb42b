"""The flask commands, run as a user would."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import Complaint, Store, User, Visit

from .factories import make_complaint, make_visit


def test_seed_demo_makes_a_believable_chain(runner):
    result = runner.invoke(args=["seed-demo", "--last-month", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "36 stores" in result.output
    assert db.session.scalar(select(func.count(Store.id))) >= 30
    chinese = db.session.scalars(select(Store.name)).all()
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in chinese) >= 10
    months = db.session.scalars(select(Visit.month).distinct()).all()
    assert {"2026-05", "2026-10"} <= set(months)
    assert db.session.scalar(select(func.count(Complaint.id))) > 10
    assert db.session.scalar(select(func.count(Visit.id)).where(Visit.score.is_(None),
                                                                  Visit.status == "released")) == 0
    # the README's demo area manager looks after the East region
    area = db.session.scalar(select(User).where(User.username == "area.east@example.com"))
    assert area.role == "area_manager" and [r.code for r in area.regions] == ["EAST"]
    assert area.check_password("demo1234")
    # a second run refuses rather than doubling the data
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0
    assert "already has stores" in again.output
    assert db.session.scalar(select(func.count(Store.id))) == 36


def test_bdi_table_and_json_match_hand_calculation(runner, chain):
    store = chain.stores[0]
    make_visit(chain, store, visit_date=date(2026, 5, 3), values={"clean_restroom": 0})  # V 80
    make_visit(chain, store, visit_date=date(2026, 5, 8))  # V 100
    make_complaint(store, datetime(2026, 5, 4, 12), "major", resolved_after_hours=24)  # −2.5
    result = runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    row = next(s for s in data["stores"] if s["code"] == store.code)
    # MS 90, no QA, HL 97.5 → (0.6·90 + 0.15·97.5) / 0.75 = 91.5
    assert row["ms"] == 90 and row["qa"] is None and row["hl"] == 97.5
    assert abs(row["bdi"] - 91.5) < 1e-9 and row["band"] == "excellent"
    assert row["name"] == "上海南京西路店"
    table = runner.invoke(args=["bdi", "--month", "2026-05"])
    assert table.exit_code == 0
    assert "91.5" in table.output and "上海南京西路店" in table.output


def test_bdi_bad_input_exits_non_zero_with_a_clear_message(runner, chain):
    bad_month = runner.invoke(args=["bdi", "--month", "2026-13"])
    assert bad_month.exit_code != 0
    assert "YYYY-MM" in bad_month.output
    unknown = runner.invoke(args=["bdi", "--month", "2026-05", "--store", "XX99"])
    assert unknown.exit_code != 0
    assert "Unknown store code" in unknown.output and "XX99" in unknown.output


def test_create_user_and_bad_input(runner, chain):
    ok = runner.invoke(args=["create-user", "--username", "new.manager@example.com",
                             "--role", "manager", "--store", "E001", "--store", "N001",
                             "--password", "long-enough-pw"])
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.username == "new.manager@example.com"))
    assert sorted(s.code for s in user.stores) == ["E001", "N001"]
    assert user.check_password("long-enough-pw")

    before = db.session.scalar(select(func.count(User.id)))
    for args, message in [
        (["--store", "NOPE"], "Unknown store code"),
        (["--password", "short"], "at least 8"),
        (["--username", "hq@example.com"], "already exists"),
    ]:
        base = {"--username": "x@example.com", "--role": "manager", "--password": "long-enough-pw"}
        merged = dict(base)
        merged.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [p for kv in merged.items() for p in kv]
        result = runner.invoke(args=["create-user", *flat])
        assert result.exit_code != 0
        assert message in result.output
    assert db.session.scalar(select(func.count(User.id))) == before
