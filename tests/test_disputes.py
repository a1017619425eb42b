"""Disputes: filed by the store manager within the window, decided by HQ; an upheld
dispute corrects or voids the item, re-scores the visit (and so the BDI), with an audit
trail."""

from __future__ import annotations

import pytest

from auditapp import analytics
from auditapp.extensions import db
from auditapp.models import AuditLog, Dispute
from auditapp.models.visit import DISPUTED, RELEASED
from auditapp.settings import save_setting

from .manager_helpers import answer, file_dispute, get_text, png_bytes, released_visit

MAY = analytics.Period.month("2026-05")


def _decide(client, dispute, decision, note="Checked the CCTV.", corrected=""):
    return client.post(
        f"/hq/disputes/{dispute.id}/decide",
        data={f"x{dispute.id}-decision": decision, f"x{dispute.id}-note": note,
              f"x{dispute.id}-corrected_value": corrected},
    )


def _trail(entity: str, entity_id) -> list[AuditLog]:
    return list(db.session.scalars(
        db.select(AuditLog).where(AuditLog.entity == entity,
                                  AuditLog.entity_id == str(entity_id)).order_by(AuditLog.id)
    ))


def test_dispute_upheld_voids_item_rescores_visit_and_bdi(client, auth, chain):
    visit = released_visit(chain)
    restroom = answer(visit, "clean_restroom")
    score_before = visit.score
    bdi_before = analytics.store_score(chain.stores[0].id, MAY).bdi
    cleanliness_before = next(d.score for d in visit.dimension_scores
                              if d.dimension == "cleanliness")
    assert cleanliness_before == 0  # the failed critical item zeroes the dimension

    auth.login("m.e001@example.com")
    r = file_dispute(client, visit, restroom, evidence=png_bytes())
    assert r.status_code == 302
    db.session.refresh(visit)
    assert visit.status == DISPUTED
    dispute = db.session.scalars(db.select(Dispute)).one()
    assert dispute.status == "open" and len(dispute.evidence_keys) == 1
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "waiting for HQ" in html and "Disputed" in html
    # a disputed visit still counts: the BDI is unchanged until HQ decides
    assert analytics.store_score(chain.stores[0].id, MAY).bdi == pytest.approx(bdi_before)
    auth.logout()

    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/disputes")
    assert "Was the restroom clean and stocked?" in html
    assert "The restroom was checked at 12:05" in html
    with client.get(f"/hq/disputes/{dispute.id}/evidence/0") as r:
        assert r.status_code == 200 and r.mimetype == "image/png"
    # the note is required: a clear message, nothing changed
    r = _decide(client, dispute, "uphold", note="")
    assert r.status_code == 400 and "Write a note explaining the decision." in r.get_data(
        as_text=True)
    assert _decide(client, dispute, "uphold", note="Soap log shows it was stocked.").status_code \
        == 302

    db.session.expire_all()
    visit = db.session.get(type(visit), visit.id)
    restroom = answer(visit, "clean_restroom")
    assert restroom.voided is True and restroom.score is None
    assert visit.status == RELEASED
    assert visit.score > score_before
    cleanliness_after = next(d.score for d in visit.dimension_scores
                             if d.dimension == "cleanliness")
    assert cleanliness_after > 0
    bdi_after = analytics.store_score(chain.stores[0].id, MAY).bdi
    assert bdi_after > bdi_before
    # audit trail: who, when, answer and visit before/after
    rows = _trail("dispute", dispute.id)
    assert [r.action for r in rows] == ["file", "uphold"]
    decided = rows[-1]
    assert decided.user_id == chain.hq.id and decided.at is not None
    assert decided.before["answer"] == {"value": 0.0, "voided": False, "score": 0.0}
    assert decided.after["answer"]["voided"] is True
    assert decided.before["visit"]["score"] == pytest.approx(score_before)
    assert decided.after["visit"]["score"] == pytest.approx(visit.score)
    assert decided.before["visit"]["status"] == DISPUTED
    assert decided.after["visit"]["status"] == RELEASED
    visit_rows = _trail("visit", visit.id)
    assert [r.action for r in visit_rows] == ["disputed", "rescored"]
    # HQ and the manager both see the adjudicated score
    auth.logout()
    auth.login("m.e001@example.com")
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "upheld by HQ" in html and "Voided after dispute" in html
    assert "Soap log shows it was stocked." in html
    status, html = get_text(client, "/manager/?month=2026-05")
    assert analytics.scoring.fmt_score(bdi_after) in html


def test_dispute_upheld_with_corrected_value(client, auth, chain):
    visit = released_visit(chain)
    thanks = answer(visit, "courtesy_thanks")
    auth.login("m.e001@example.com")
    file_dispute(client, visit, thanks, reason="Receipt video shows the crew thanked them.")
    auth.logout()
    auth.login("hq@example.com")
    dispute = db.session.scalars(db.select(Dispute)).one()
    r = _decide(client, dispute, "uphold", corrected="7")  # not a yes/no value
    assert r.status_code == 400
    assert "The corrected value is not valid for this item" in r.get_data(as_text=True)
    assert _decide(client, dispute, "uphold", corrected="1").status_code == 302
    db.session.expire_all()
    thanks = db.session.get(type(thanks), thanks.id)
    assert thanks.value == 1.0 and thanks.score == 100.0 and not thanks.voided
    assert db.session.get(Dispute, dispute.id).corrected_value == 1.0


def test_dispute_rejected_keeps_score(client, auth, chain):
    visit = released_visit(chain)
    score = visit.score
    auth.login("m.e001@example.com")
    file_dispute(client, visit, answer(visit, "courtesy_thanks"))
    auth.logout()
    auth.login("hq@example.com")
    dispute = db.session.scalars(db.select(Dispute)).one()
    assert _decide(client, dispute, "reject", note="The shopper's notes are clear.") \
        .status_code == 302
    db.session.expire_all()
    visit = db.session.get(type(visit), visit.id)
    assert visit.status == RELEASED and visit.score == pytest.approx(score)
    assert db.session.get(Dispute, dispute.id).status == "rejected"
    assert [r.action for r in _trail("dispute", dispute.id)] == ["file", "reject"]
    # deciding twice is refused
    r = client.post(f"/hq/disputes/{dispute.id}/decide", follow_redirects=True,
                    data={f"x{dispute.id}-decision": "uphold", f"x{dispute.id}-note": "again"})
    assert "This dispute has already been decided." in r.get_data(as_text=True)
    assert db.session.get(Dispute, dispute.id).status == "rejected"
    auth.logout()
    auth.login("m.e001@example.com")
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "rejected by HQ" in html and "The shopper&#39;s notes are clear." in html


def test_visit_stays_disputed_while_any_dispute_is_open(client, auth, chain):
    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    file_dispute(client, visit, answer(visit, "courtesy_thanks"))
    file_dispute(client, visit, answer(visit, "clean_restroom"))
    # the same item cannot be disputed twice while open
    r = file_dispute(client, visit, answer(visit, "clean_restroom"))
    assert r.status_code == 400 and "already has an open dispute" in r.get_data(as_text=True)
    auth.logout()
    auth.login("hq@example.com")
    first, second = db.session.scalars(db.select(Dispute).order_by(Dispute.id)).all()
    _decide(client, first, "reject")
    db.session.expire_all()
    assert db.session.get(type(visit), visit.id).status == DISPUTED
    _decide(client, second, "reject")
    db.session.expire_all()
    assert db.session.get(type(visit), visit.id).status == RELEASED


def test_late_dispute_is_refused_with_a_clear_message(client, auth, chain):
    visit = released_visit(chain, days_ago=8)  # default window: 7 days
    auth.login("m.e001@example.com")
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "The dispute window closed on" in html and "Dispute this result" not in html
    r = file_dispute(client, visit, answer(visit, "clean_restroom"))
    assert r.status_code == 400
    text = r.get_data(as_text=True)
    assert "The dispute window for this visit closed on" in text
    assert "Disputes can no longer be filed." in text
    assert db.session.scalar(db.select(db.func.count(Dispute.id))) == 0
    # the window is an HQ setting
    save_setting("disputes", {"window_days": 10}, chain.hq.id)
    db.session.commit()
    assert file_dispute(client, visit, answer(visit, "clean_restroom")).status_code == 302


def test_dispute_evidence_must_be_a_small_real_image(client, auth, chain, app):
    visit = released_visit(chain)
    restroom = answer(visit, "clean_restroom")
    auth.login("m.e001@example.com")
    reason = "The restroom was checked at 12:05 and stocked."
    r = file_dispute(client, visit, restroom, reason=reason, evidence=b"%PDF-1.4 not an image",
                     filename="x.png")
    text = r.get_data(as_text=True)
    assert r.status_code == 400 and "not an image we can read" in text
    assert reason in text  # what the manager typed is kept
    app.config["MAX_EVIDENCE_BYTES"] = 1000
    r = file_dispute(client, visit, restroom, evidence=png_bytes(size=(400, 400)) + b"\0" * 2000)
    assert r.status_code == 400 and "The image is too large" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Dispute.id))) == 0
    # a short reason is refused next to the field
    r = file_dispute(client, visit, restroom, reason="wrong")
    assert r.status_code == 400 and "Write between 10 and 4000 characters." in r.get_data(
        as_text=True)


def test_only_hq_decides_disputes(client, auth, chain):
    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    file_dispute(client, visit, answer(visit, "clean_restroom"), evidence=png_bytes())
    dispute = db.session.scalars(db.select(Dispute)).one()
    assert client.get("/hq/disputes").status_code == 403
    assert _decide(client, dispute, "uphold").status_code == 403
    with client.get(f"/hq/disputes/{dispute.id}/evidence/0") as r:
        assert r.status_code == 403
    with client.get(f"/manager/disputes/{dispute.id}/evidence/0") as r:
        assert r.status_code == 200 and r.mimetype == "image/png"


def test_timed_item_corrected_in_seconds(client, auth, chain):
    visit = released_visit(chain)  # service time 200 s on a walk-in (target 120, limit 300)
    speed = answer(visit, "speed_total")
    assert 0 < speed.score < 100
    auth.login("m.e001@example.com")
    file_dispute(client, visit, speed, reason="The POS log shows the order took 95 seconds.")
    auth.logout()
    auth.login("hq@example.com")
    dispute = db.session.scalars(db.select(Dispute)).one()
    r = _decide(client, dispute, "uphold", corrected="-5")
    assert r.status_code == 400 and "not valid for this item" in r.get_data(as_text=True)
    assert _decide(client, dispute, "uphold", corrected="95").status_code == 302
    db.session.expire_all()
    speed = db.session.get(type(speed), speed.id)
    assert (speed.value, speed.score) == (95.0, 100.0)
