"""The audit trail: every change to a questionnaire draft is recorded (publishing, visit
status, dispute outcomes and settings are covered by their own tests), and HQ can read
and filter the trail on /hq/audit."""

from __future__ import annotations

from sqlalchemy import select

from auditapp.audit import log_change
from auditapp.extensions import db
from auditapp.models import AuditLog, Questionnaire

from .test_hq_admin_questionnaires import ITEM, _dim_data, _draft_of


def _trail(entity: str, entity_id) -> list[tuple[str, dict | None, dict | None]]:
    db.session.expire_all()
    rows = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == entity, AuditLog.entity_id == str(entity_id)).order_by(AuditLog.id))
    return [(r.action, r.before, r.after) for r in rows]


def test_every_draft_edit_is_in_the_trail(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    draft = _draft_of(chain)
    dim = draft.dimensions[0]
    first = dim.items[0]
    assert client.post(f"/hq/questionnaires/{draft.id}/name",
                       data={"name": "Mystery shop 2027"}).status_code == 302
    assert client.post(f"/hq/questionnaires/{draft.id}/dimensions/{dim.id}",
                       data=_dim_data(dim, weight=30)).status_code == 302
    assert client.post(f"/hq/questionnaires/{draft.id}/items/new",
                       data={**ITEM, "dimension_id": dim.id}).status_code == 302
    assert client.post(f"/hq/questionnaires/{draft.id}/items/{first.id}",
                       data={**ITEM, "code": first.code, "item_type": "yesno",
                             "dimension_id": dim.id}).status_code == 302
    assert client.post(f"/hq/questionnaires/{draft.id}/items/{first.id}/move",
                       data={"direction": "down"}).status_code == 302
    assert client.post(f"/hq/questionnaires/{draft.id}/items/{first.id}/delete"
                       ).status_code == 302
    trail = _trail("questionnaire", draft.id)
    actions = [a for a, _, _ in trail]
    assert actions == ["new_version", "rename", "edit_dimension", "add_item", "edit_item",
                       "move_item", "delete_item"]
    by_action = {a: (before, after) for a, before, after in trail}
    assert by_action["rename"][1] == {"name": "Mystery shop 2027"}
    assert by_action["edit_dimension"][0]["weight"] == 20
    assert by_action["edit_dimension"][1]["weight"] == 30
    assert by_action["add_item"][0] is None and by_action["add_item"][1]["item"] == "speed_drive"
    assert by_action["edit_item"][1]["type"] == "yesno"
    assert by_action["move_item"][1]["position"] == by_action["move_item"][0]["position"] + 1
    assert by_action["delete_item"][0]["item"] == first.code
    db.session.expire_all()
    assert db.session.get(Questionnaire, draft.id).name == "Mystery shop 2027"


def test_hq_reads_and_filters_the_trail(client, auth, chain):
    log_change("visit", 41, "release", chain.hq.id, {"status": "submitted"},
               {"status": "released"})
    log_change("setting", "scoring", "update", chain.hq.id, {"bands": [90]}, {"bands": [85]})
    log_change("dispute", 7, "decide", chain.hq.id, {"status": "open"},
               {"status": "upheld", "note": "照片显示已清洁"})
    db.session.commit()
    auth.login("hq@example.com")
    html = client.get("/hq/audit").get_data(as_text=True)
    assert "Audit trail" in html
    for text in ("Visit 41", "Setting scoring", "Dispute 7", "照片显示已清洁", "Head Office"):
        assert text in html
    # labels, not codes: the action and a visit status read as words
    assert "<td>Released</td>" in html and "status: Released" in html
    html = client.get("/hq/audit?entity=dispute&entity_id=7").get_data(as_text=True)
    assert "Dispute 7" in html and "Visit 41" not in html and "Setting scoring" not in html
    html = client.get("/hq/audit?entity=visit&entity_id=99").get_data(as_text=True)
    assert "No change recorded here." in html
    # HQ's navigation leads there; other roles are refused (see the access matrix)
    assert 'href="/hq/audit"' in client.get("/hq/").get_data(as_text=True)
    auth.logout()
    auth.login("qa@example.com")
    assert client.get("/hq/audit").status_code == 403


def test_the_trail_pages(client, auth, chain):
    for n in range(60):
        log_change("visit", n, "start", None, None, {"n": n})
    db.session.commit()
    auth.login("hq@example.com")
    first = client.get("/hq/audit?entity=visit").get_data(as_text=True)
    assert "Older" in first and "system" in first
    second = client.get("/hq/audit?entity=visit&page=2").get_data(as_text=True)
    assert "Newer" in second and "Older" not in second
    bad = client.get("/hq/audit?page=-3")  # a clear 400, as for every page number
    assert bad.status_code == 400 and "must be a whole number" in bad.get_data(as_text=True)
