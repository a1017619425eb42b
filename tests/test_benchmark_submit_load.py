"""The submission load benchmark (benchmarks/submit_load.py) must keep sending what the API
accepts: its payload builder, fed from the questionnaire the way the benchmark feeds it,
submits a visit through the shopper JSON API (no timing here)."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.generate import assign_visits, generate_chain
from auditapp.models import Answer, AuditLog, Visit
from auditapp.models.visit import ASSIGNED, SUBMITTED

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "submit_load.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("submit_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def submit(client, visit_id: int, token: str, body: dict):
    return client.post(f"/api/shopper/visits/{visit_id}/submit", data=json.dumps(body),
                       headers={"Content-Type": "application/json",
                                "Authorization": f"Bearer {token}"})


def test_benchmark_payload_is_accepted_once(app, client, chain):
    bench = load_benchmark()
    month = date.today().replace(day=1)
    assert assign_visits(month) == len(chain.stores)
    db.session.commit()
    visits = db.session.scalars(
        select(Visit).where(Visit.month == f"{month:%Y-%m}").order_by(Visit.id)).all()
    assert {v.status for v in visits} == {ASSIGNED}
    assert all(v.access_token for v in visits)
    rng = random.Random(1)
    sent = {}
    for visit in visits:
        items = bench.form_items(db.session, visit.questionnaire_id)
        assert len(items) == len(visit.questionnaire.items)
        body = bench.build_payload(items, bench.new_client_id(), rng, date.today(),
                                   visit.visit_type, visit.kind)
        sent[visit.id] = (visit.access_token, body)
    for visit_id, (token, body) in sent.items():
        with submit(client, visit_id, token, body) as r:
            assert r.status_code == 200, r.get_json()
            answer = r.get_json()
            assert answer["status"] == "submitted" and answer["duplicate"] is False
            assert answer["visit_id"] == visit_id
            assert answer["client_submission_id"] == body["client_submission_id"]
            assert answer["submitted_at"]
        with submit(client, visit_id, token, body) as again:  # the benchmark's re-send
            assert again.status_code == 200
            assert again.get_json()["duplicate"] is True
            assert again.get_json()["submitted_at"] == answer["submitted_at"]
    db.session.expire_all()
    for visit in db.session.scalars(select(Visit).where(Visit.id.in_(sent))):
        assert visit.status == SUBMITTED
        assert visit.client_submission_id == sent[visit.id][1]["client_submission_id"]
        assert visit.score is not None and len(visit.dimension_scores) == 5
        assert len(visit.answers) == len(sent[visit.id][1]["answers"])  # the items asked
        assert len(visit.answers) >= len(visit.questionnaire.items) - 3
        assert all(a.score is not None or a.na for a in visit.answers)
    audit_rows = db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity == "visit", AuditLog.action == "submit"))
    assert audit_rows == len(sent)


def test_generate_assign_month_adds_open_assignments(app):
    month = date.today().replace(day=1)
    summary = generate_chain(3, 1, last_month=date(2026, 1, 1), assign_month=month)
    db.session.commit()
    assert summary["assigned"] == 3
    open_visits = db.session.scalars(select(Visit).where(Visit.status == ASSIGNED)).all()
    assert len(open_visits) == 3
    assert {v.month for v in open_visits} == {f"{month:%Y-%m}"}
    assert len({v.store_id for v in open_visits}) == 3
    assert all(v.access_token and v.token_expires_at and v.due_date for v in open_visits)
    assert not db.session.scalar(select(func.count(Answer.id)).where(
        Answer.visit_id.in_([v.id for v in open_visits])))
    assert assign_visits(month) == 0  # each store has its visit that month already


def test_generate_command_assign_month(app, runner):
    result = runner.invoke(args=["generate", "--stores", "2", "--months", "1",
                                 "--last-month", "2026-01", "--assign-month", "2026-02"])
    assert result.exit_code == 0, result.output
    assert "2 open assignments in 2026-02" in result.output
    assert db.session.scalar(select(func.count(Visit.id)).where(
        Visit.month == "2026-02", Visit.status == ASSIGNED)) == 2
    bad = runner.invoke(args=["generate", "--stores", "1", "--months", "1",
                              "--assign-month", "Feb"])
    assert bad.exit_code != 0 and "--assign-month" in bad.output
