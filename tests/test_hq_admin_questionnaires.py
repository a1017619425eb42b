"""Questionnaire editor through HTTP: new version, draft editing, validation, publishing,
and old visits keeping their own version's scores."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditapp import scheduling
from auditapp.extensions import db
from auditapp.models import AuditLog, Item, Questionnaire, Visit
from auditapp.visits import score_and_store

from .factories import make_visit


def _draft_of(chain) -> Questionnaire:
    return db.session.scalar(select(Questionnaire).where(
        Questionnaire.code == chain.ms_q.code, Questionnaire.status == "draft"))


def _dim(q: Questionnaire, code: str):
    return next(d for d in q.dimensions if d.code == code)


def _dim_data(d, **changes) -> dict:
    data = {"name": d.name, "name_zh": d.name_zh, "weight": d.weight, **changes}
    return {f"d{d.id}-{k}": v for k, v in data.items()}


ITEM = {"code": "speed_drive", "item_type": "timed", "weight": "1.5", "text": "Drive-thru time",
        "text_zh": "得来速时间", "guidance": "Start at the speaker",
        "guidance_zh": "从点餐口开始计时",
        "t_drive_thru": "150", "l_drive_thru": "300", "t_walk_in": "100", "l_walk_in": "250",
        "t_dine_in": "200", "l_dine_in": "500"}


def test_list_and_new_version(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/questionnaires").get_data(as_text=True)
    assert "MS-STD" in html and "QA-STD" in html and "Published" in html
    r = client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    assert r.status_code == 302
    draft = _draft_of(chain)
    assert draft.version == 2 and len(draft.items) == len(chain.ms_q.items)
    assert draft.dimension_weights == chain.ms_q.dimension_weights
    # asking again leads to the same draft
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    assert db.session.scalar(select(db.func.count(Questionnaire.id)).where(
        Questionnaire.code == "MS-STD")) == 2
    html = client.get("/hq/questionnaires").get_data(as_text=True)
    assert "Draft" in html and "v2" in html


def test_published_version_is_read_only(client, auth, chain):
    auth.login("hq@example.com")
    q = chain.ms_q
    d = q.dimensions[0]
    it = d.items[0]
    html = client.get(f"/hq/questionnaires/{q.id}").get_data(as_text=True)
    assert "This version is read-only" in html and "Publish this version" not in html
    assert client.post(f"/hq/questionnaires/{q.id}/dimensions/{d.id}",
                       data=_dim_data(d, weight=50)).status_code == 409
    assert client.post(f"/hq/questionnaires/{q.id}/items/{it.id}",
                       data={**ITEM, "dimension_id": d.id}).status_code == 409
    assert client.post(f"/hq/questionnaires/{q.id}/items/{it.id}/delete").status_code == 409
    assert client.post(f"/hq/questionnaires/{q.id}/publish").status_code == 409
    assert client.get(f"/hq/questionnaires/{q.id}/items/{it.id}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Questionnaire, q.id).dimensions[0].weight == 20


def test_edit_draft_items_and_dimensions(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    draft = _draft_of(chain)
    base = f"/hq/questionnaires/{draft.id}"
    speed = _dim(draft, "speed")

    # dimension: bad weight is refused, typed values kept
    r = client.post(f"{base}/dimensions/{speed.id}",
                    data=_dim_data(speed, weight="0", name="Speed!"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "The weight must be above 0" in html
    assert 'value="Speed!"' in html
    r = client.post(f"{base}/dimensions/{speed.id}",
                    data=_dim_data(speed, weight="40", name_zh="速度"))
    assert r.status_code == 302

    # item: L must exceed T, T ≥ 0; values kept
    bad = {**ITEM, "dimension_id": speed.id, "l_walk_in": "100", "t_dine_in": "-5"}
    r = client.post(f"{base}/items/new", data=bad)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "The limit L must be greater than the target T" in html
    assert "The target T must be from 0 to" in html
    assert "得来速时间" in html and 'value="speed_drive"' in html
    r = client.post(f"{base}/items/new", data={**ITEM, "dimension_id": speed.id,
                                              "critical": "y", "allow_na": "y"})
    assert r.status_code == 302
    item = db.session.scalar(select(Item).where(Item.code == "speed_drive"))
    assert item.timed_targets == {"drive_thru": [150, 300], "walk_in": [100, 250],
                                  "dine_in": [200, 500]}
    assert item.critical and item.allow_na and item.text_zh == "得来速时间"
    assert item.position == 3
    # duplicate code refused
    html = client.post(f"{base}/items/new", data={**ITEM, "dimension_id": speed.id}).get_data(
        True)
    assert "Another item of this questionnaire has this code" in html
    # edit: becomes a yes/no item in another dimension
    courtesy = _dim(draft, "courtesy")
    r = client.post(f"{base}/items/{item.id}", data={
        "dimension_id": courtesy.id, "code": "courtesy_name", "item_type": "yesno",
        "weight": "2", "text": "Did the crew wear a name badge?"})
    assert r.status_code == 302
    db.session.expire_all()
    item = db.session.get(Item, item.id)
    assert item.dimension.code == "courtesy" and item.timed_targets is None
    assert not item.critical
    # reorder: move it up twice
    client.post(f"{base}/items/{item.id}/move", data={"direction": "up"})
    client.post(f"{base}/items/{item.id}/move", data={"direction": "up"})
    db.session.expire_all()
    codes = [i.code for i in _dim(db.session.get(Questionnaire, draft.id), "courtesy").items]
    assert codes == ["courtesy_smile", "courtesy_name", "courtesy_thanks",
                     "courtesy_satisfaction"]
    # remove
    assert client.post(f"{base}/items/{item.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Item, item.id) is None
    html = client.get(base).get_data(as_text=True)
    assert "速度" in html and "Publish this version" in html


def test_publish_is_refused_until_valid(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    draft = _draft_of(chain)
    quality = _dim(draft, "quality")
    for it in list(quality.items):
        client.post(f"/hq/questionnaires/{draft.id}/items/{it.id}/delete")
    r = client.post(f"/hq/questionnaires/{draft.id}/publish", follow_redirects=True)
    assert "Dimension Product quality has no items; add at least one." in r.get_data(True)
    db.session.expire_all()
    assert db.session.get(Questionnaire, draft.id).status == "draft"
    assert db.session.get(Questionnaire, chain.ms_q.id).status == "published"


def test_publish_v2_keeps_old_visits_and_new_assignments_use_it(client, auth, chain):
    # an old released visit on v1: speed perfect, cleanliness failed a critical item
    old = make_visit(chain, chain.stores[0], values={"clean_restroom": 0, "courtesy_smile": 0})
    old_score = old.score
    old_dims = {d.dimension: (d.score, d.weight) for d in old.dimension_scores}

    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    draft = _draft_of(chain)
    speed = _dim(draft, "speed")
    client.post(f"/hq/questionnaires/{draft.id}/dimensions/{speed.id}",
                data=_dim_data(speed, weight="80"))
    r = client.post(f"/hq/questionnaires/{draft.id}/publish")
    assert r.status_code == 302
    db.session.expire_all()
    v1 = db.session.get(Questionnaire, chain.ms_q.id)
    v2 = db.session.get(Questionnaire, draft.id)
    assert (v1.status, v2.status) == ("retired", "published") and v2.published_at
    assert v2.dimension_weights["speed"] == 80
    log = db.session.scalar(select(AuditLog).where(AuditLog.entity == "questionnaire",
                                                   AuditLog.action == "publish"))
    assert log.entity_id == str(v2.id) and log.after["retired"] == [v1.id]
    html = client.get(f"/hq/questionnaires/{v2.id}").get_data(as_text=True)
    assert "This version is read-only" in html

    # the old visit: stored scores unchanged, and re-computing them gives the same
    old = db.session.get(Visit, old.id)
    assert old.questionnaire_id == v1.id and old.score == old_score
    score_and_store(old)
    db.session.commit()
    assert old.score == pytest.approx(old_score)
    assert {d.dimension: (d.score, d.weight) for d in old.dimension_scores} == old_dims
    # the same answers on v2 would score differently (so the test can tell)
    new = make_visit(chain, chain.stores[1], values={"clean_restroom": 0, "courtesy_smile": 0})
    new.questionnaire = v2
    new.answers.clear()
    db.session.flush()
    from .factories import answer_all

    answer_all(new, {"clean_restroom": 0, "courtesy_smile": 0})
    score_and_store(new)
    assert new.score != pytest.approx(old_score)

    # new assignments use v2
    plan = scheduling.generate_month("2026-09")
    db.session.commit()
    assert plan.created and {v.questionnaire_id for v in plan.created} == {v2.id}
