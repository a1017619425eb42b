"""Corrective actions: recorded by the manager for failed items, marked done, verified by
HQ; overdue actions flagged on both sides."""

from __future__ import annotations

from datetime import timedelta

from auditapp.extensions import db
from auditapp.models import AuditLog, CorrectiveAction, utcnow

from .manager_helpers import add_action, answer, get_text, released_visit


def test_action_lifecycle_open_done_verified(client, auth, chain):
    visit = released_visit(chain)
    thanks = answer(visit, "courtesy_thanks")
    auth.login("m.e001@example.com")
    r = add_action(client, visit, thanks, due="2099-01-31")
    assert r.status_code == 302
    row = db.session.scalars(db.select(CorrectiveAction)).one()
    assert (row.status, row.owner, row.answer_id) == ("open", "Shift lead Wang", thanks.id)
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "Restock soap every hour" in html and "Overdue" not in html
    status, html = get_text(client, "/manager/actions")
    assert "Restock soap every hour" in html
    # HQ cannot verify an action that is not done yet
    auth.logout()
    auth.login("hq@example.com")
    r = client.post(f"/hq/actions/{row.id}/verify", follow_redirects=True)
    assert "Only an action marked done can be verified" in r.get_data(as_text=True)
    auth.logout()
    auth.login("m.e001@example.com")
    assert client.post(f"/manager/actions/{row.id}/done").status_code == 302
    db.session.refresh(row)
    assert row.status == "done" and row.done_at is not None
    auth.logout()
    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/actions?show=done")
    assert "Restock soap every hour" in html and "Verify" in html
    # reopen sends it back; verify closes it
    client.post(f"/hq/actions/{row.id}/verify", data={"reopen": "1"})
    db.session.refresh(row)
    assert row.status == "open"
    auth.logout()
    auth.login("m.e001@example.com")
    client.post(f"/manager/actions/{row.id}/done", data={"next": "actions"})
    auth.logout()
    auth.login("hq@example.com")
    client.post(f"/hq/actions/{row.id}/verify")
    db.session.refresh(row)
    assert row.status == "verified" and row.verified_by_id == chain.hq.id
    actions = [a.action for a in db.session.scalars(
        db.select(AuditLog).where(AuditLog.entity == "corrective_action").order_by(AuditLog.id))]
    assert actions == ["create", "done", "reopen", "done", "verify"]
    auth.logout()
    auth.login("m.e001@example.com")
    status, html = get_text(client, "/manager/actions")
    assert "Verified by HQ" in html


def test_action_form_errors_and_only_failed_items(client, auth, chain):
    visit = released_visit(chain)
    thanks, smile = answer(visit, "courtesy_thanks"), answer(visit, "courtesy_smile")
    auth.login("m.e001@example.com")
    r = add_action(client, visit, thanks, action="Retrain the till crew", owner="", due="soon")
    text = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Name who is responsible." in text and "Enter a due date" in text
    assert "Retrain the till crew" in text  # what was typed is kept
    r = add_action(client, visit, smile)  # passed item
    assert r.status_code == 400
    assert "Corrective actions are for failed items." in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CorrectiveAction.id))) == 0


def test_overdue_actions_are_flagged_for_manager_and_hq(client, auth, chain):
    visit = released_visit(chain)
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    auth.login("m.e001@example.com")
    add_action(client, visit, answer(visit, "clean_restroom"), action="Fix the soap dispenser",
               due=yesterday)
    add_action(client, visit, answer(visit, "courtesy_thanks"), action="Brief the crew",
               due="2099-01-01")
    status, html = get_text(client, "/manager/actions")
    assert "1 corrective action is overdue." in html
    overdue_part = html[html.index("Fix the soap dispenser"):]
    assert "Overdue" in overdue_part[:600]
    status, html = get_text(client, "/manager/?month=2026-05")
    assert "1 overdue" in html
    auth.logout()
    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/actions?show=overdue")
    assert "Fix the soap dispenser" in html and "Brief the crew" not in html
    assert "1 corrective action is overdue." in html
    status, html = get_text(client, "/hq/actions")
    assert "Fix the soap dispenser" in html and "Brief the crew" in html
    # once done, it is no longer overdue
    auth.logout()
    auth.login("m.e001@example.com")
    row = db.session.scalars(db.select(CorrectiveAction).where(
        CorrectiveAction.action == "Fix the soap dispenser")).one()
    client.post(f"/manager/actions/{row.id}/done")
    status, html = get_text(client, "/manager/actions")
    assert "is overdue" not in html


def test_manager_cannot_touch_other_stores_actions(client, auth, chain):
    visit = released_visit(chain, chain.stores[1])
    auth.login("m.e002@example.com")
    add_action(client, visit, answer(visit, "courtesy_thanks"), action="Brief the crew")
    row = db.session.scalars(db.select(CorrectiveAction)).one()
    auth.logout()
    auth.login("m.e001@example.com")
    assert client.post(f"/manager/actions/{row.id}/done").status_code == 404
    status, html = get_text(client, "/manager/actions")
    assert "Brief the crew" not in html
    assert client.get("/hq/actions").status_code == 403
    assert client.post(f"/hq/actions/{row.id}/verify").status_code == 403
