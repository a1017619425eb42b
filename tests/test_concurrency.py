"""No lost or doubled submissions (PostgreSQL: real row locks and real connections).

- Two tabs submit the same visit at the same moment: one submission, one audit row, and
  both tabs get a sensible answer (one success; the other "already submitted", or the
  same result when both tabs carry the same submission id).
- A worker killed in the middle of a submission (answers written, not committed) leaves
  no half visit: no answers, no audit row, the visit still editable and submittable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import Answer, AuditLog, Visit

from .factories import PASSWORD
from .shopper_helpers import asked, full_payload, make_assignment

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pg(database_url):
    if database_url is None:
        pytest.skip("PostgreSQL only (set AUDITAPP_TEST_DATABASE_URL)")
    return database_url


def _logged_in_client(app):
    client = app.test_client()
    g.pop("_login_user", None)
    r = client.post("/auth/login", data={"username": "MS-101", "password": PASSWORD})
    assert r.status_code == 302
    g.pop("_login_user", None)
    return client


def _submit_together(app, visit, payloads: list[dict]) -> list:
    """POST each payload from its own tab (client) in its own thread, all at once."""
    clients = [_logged_in_client(app) for _ in payloads]
    barrier = threading.Barrier(len(payloads))
    results: list = [None] * len(payloads)

    def tab(i: int) -> None:
        barrier.wait()
        r = clients[i].post(f"/api/shopper/visits/{visit.id}/submit", json=payloads[i])
        results[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results), "a tab did not finish"
    return results


def _counts(visit_id: int) -> tuple[int, int]:
    db.session.expire_all()
    answers = db.session.scalar(select(func.count(Answer.id)).where(Answer.visit_id == visit_id))
    audits = db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit_id),
        AuditLog.action == "submit"))
    return answers, audits


def test_two_tabs_submitting_at_once_give_one_submission(app, chain, pg):
    visit = make_assignment(chain)
    n_items = len(asked(visit, {}))
    results = _submit_together(app, visit, [full_payload(visit, client_id="tab-1"),
                                            full_payload(visit, client_id="tab-2")])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    refused = next(body for status, body in results if status == 409)
    assert "already submitted" in refused["message"]
    assert _counts(visit.id) == (n_items, 1)
    assert db.session.get(Visit, visit.id).status == "submitted"


def test_two_tabs_with_the_same_submission_id_get_the_same_result(app, chain, pg):
    visit = make_assignment(chain)
    payload = full_payload(visit, client_id="same-form")
    results = _submit_together(app, visit, [payload, payload])
    assert [status for status, _ in results] == [200, 200], results
    assert sorted(body["duplicate"] for _, body in results) == [False, True]
    assert {body["submitted_at"] for _, body in results} != {None}
    assert _counts(visit.id) == (len(asked(visit, {})), 1)


CHILD = r"""
import json, os, sys, time
from auditapp import create_app, submission

def stall():
    # the answers, dimension scores, visit and audit row are written, not yet committed:
    # the marker says what this transaction sees of them
    from sqlalchemy import text
    seen = submission.db.session.execute(text(
        "SELECT (SELECT count(*) FROM answers WHERE visit_id = :v),"
        " (SELECT count(*) FROM visit_dimension_scores WHERE visit_id = :v),"
        " (SELECT status FROM visits WHERE id = :v)"), {"v": int(os.environ["VISIT_ID"])}).one()
    open(os.environ["MARKER"], "w").write(json.dumps(list(seen)))
    time.sleep(120)                   # ... and the worker dies here, before the commit

submission.db.session.commit = stall
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": os.environ["DB_URL"],
                  "UPLOAD_FOLDER": os.environ["UPLOADS"]})
with app.app_context():
    client = app.test_client()
    client.post(f"/api/shopper/visits/{os.environ['VISIT_ID']}/submit",
                headers={"Authorization": "Bearer " + os.environ["TOKEN"]},
                json=json.loads(os.environ["PAYLOAD"]))
"""


def test_worker_killed_mid_submission_leaves_no_half_visit(app, client, chain, pg, tmp_path):
    visit = make_assignment(chain)
    marker = tmp_path / "flushed"
    env = {**os.environ, "DB_URL": pg, "UPLOADS": str(tmp_path / "files"),
           "VISIT_ID": str(visit.id), "TOKEN": visit.access_token, "MARKER": str(marker),
           "PAYLOAD": json.dumps(full_payload(visit, client_id="killed-1"))}
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the child exited before reaching the commit"
            assert time.monotonic() < deadline, "the child never reached the commit"
            time.sleep(0.05)
        time.sleep(0.1)  # the marker is complete
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    n_items = len(asked(visit, {}))
    assert json.loads(marker.read_text()) == [n_items, 5, "submitted"]  # all was written

    assert _counts(visit.id) == (0, 0)
    fresh = db.session.get(Visit, visit.id)
    assert fresh.status == "assigned" and fresh.score is None
    assert fresh.client_submission_id is None
    # ... and the shopper can still send it
    r = client.post(f"/api/shopper/visits/{visit.id}/submit",
                    headers={"Authorization": f"Bearer {visit.access_token}"},
                    json=full_payload(fresh, client_id="killed-1"))
    assert r.status_code == 200, r.get_json()
    assert _counts(visit.id) == (len(asked(fresh, {})), 1)
