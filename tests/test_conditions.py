"""Issue #17 item 2: conditions. The one rule (``conditions.visible``), checked on
publish, edited in the questionnaire editor, and enforced by the server on submit and by
the no-JavaScript form (hidden items are sent hidden; "Update" shows the new ones).
tests/test_conditions_browser.py runs the same cases through conditions.js."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from auditapp import conditions
from auditapp.extensions import db
from auditapp.models import Item, Questionnaire, Visit
from auditapp.questionnaires import condition_problems

from .condition_cases import CASES
from .shopper_helpers import expected_score, full_payload, make_assignment


@pytest.mark.parametrize("name, items, answers, visit_type, kind, expected", CASES,
                         ids=[c[0] for c in CASES])
def test_the_rule(name, items, answers, visit_type, kind, expected):
    assert conditions.visible(items, answers, visit_type, kind) == expected


def _submit(client, visit, payload):
    return client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload,
                       headers={"Authorization": f"Bearer {visit.access_token}"})


def _codes(visit_id: int) -> set[str]:
    db.session.expire_all()
    return {a.item.code for a in db.session.get(Visit, visit_id).answers}


def test_a_dine_in_section_is_not_asked_nor_scored_on_a_drive_thru(client, chain):
    visit = make_assignment(chain, visit_type="drive_thru")
    values = {"clean_dining": 0}  # answered anyway (an old draft): ignored, not scored
    r = _submit(client, visit, full_payload(visit, values))
    assert r.status_code == 200, r.get_json()
    assert "clean_dining" not in _codes(visit.id)
    stored = db.session.get(Visit, visit.id)
    # by hand: +60 scores 83.33; cleanliness without the dining item is (100 + 83.33) / 2
    csm = 500 / 6
    speed, courtesy = (200 + 100 + csm) / 4, (100 + 100 + 2 * csm) / 4
    assert stored.score == pytest.approx((speed + courtesy + 100 + courtesy
                                          + (100 + csm) / 2) / 5)
    assert stored.score == pytest.approx(expected_score(visit, values))
    # on a dine-in visit the same answer counts
    dine = make_assignment(chain, visit_type="dine_in")
    r = _submit(client, dine, full_payload(dine, values, client_id="cid-2"))
    assert r.status_code == 200
    assert "clean_dining" in _codes(dine.id)
    assert db.session.get(Visit, dine.id).score < stored.score


def test_no_then_why_is_asked_and_required(client, chain):
    visit = make_assignment(chain)
    payload = full_payload(visit, {"accuracy_complete": 0})
    missing = next(i for i in visit.questionnaire.items if i.code == "accuracy_missing")
    payload["answers"][str(missing.id)] = {"value": "", "na": False, "comment": ""}
    r = _submit(client, visit, payload)
    assert r.status_code == 422
    assert "answer this question" in r.get_json()["errors"][f"item-{missing.id}"]
    payload["answers"][str(missing.id)]["value"] = "No fries in the bag"
    assert _submit(client, visit, payload).status_code == 200
    answer = next(a for a in db.session.get(Visit, visit.id).answers if a.item_id == missing.id)
    assert answer.text == "No fries in the bag" and answer.score is None and answer.value is None
    # "Yes": the follow-up is hidden, its (stale) answer dropped
    other = make_assignment(chain)
    payload = full_payload(other, {"accuracy_complete": 1}, client_id="cid-2")
    assert _submit(client, other, payload).status_code == 200
    assert "accuracy_missing" not in _codes(other.id)


def test_the_no_js_form_shows_a_follow_up_after_update(client, chain):
    visit = make_assignment(chain)
    missing = next(i for i in visit.questionnaire.items if i.code == "accuracy_missing")
    complete = next(i for i in visit.questionnaire.items if i.code == "accuracy_complete")
    url = f"/shopper/t/{visit.access_token}"
    html = client.get(url).get_data(as_text=True)
    assert f'id="item-{missing.id}"' in html
    assert 'data-code="accuracy_missing" hidden' in html
    assert 'name="action" value="update"' in html  # in <noscript>
    r = client.post(url, data={"action": "update", f"v_{complete.id}": "0"})
    assert r.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert 'data-code="accuracy_missing">' in html  # no longer hidden
    # drive-thru: the dine-in items are not in the page at all
    assert 'data-code="clean_dining"' not in html


def test_publish_refuses_a_reference_to_a_later_or_missing_item(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    q = db.session.scalar(select(Questionnaire).where(Questionnaire.status == "draft",
                                                      Questionnaire.code == chain.ms_q.code))
    items = q.items
    first, last = items[0], items[-1]
    first.condition = {"when": {"item": last.code, "failed": True}}
    items[1].condition = {"when": {"item": "nope", "failed": True}}
    items[2].condition = {"when": {"item": items[2].code, "failed": True}}  # itself: a cycle
    items[3].condition = {"visit_types": ["boat"], "when": {"item": first.code, "lt": "x"}}
    db.session.commit()
    problems = condition_problems(q)
    assert any(f"Item {first.code}" in p and "not an earlier item" in p for p in problems)
    assert any("nope" in p and "not in this questionnaire" in p for p in problems)
    assert any(f"Item {items[2].code}" in p and "no cycles" in p for p in problems)
    assert any("unknown visit type" in p for p in problems)
    assert any(f"Item {items[3].code}: its condition needs one test" in p for p in problems)
    r = client.post(f"/hq/questionnaires/{q.id}/publish", follow_redirects=True)
    assert "not an earlier item" in r.get_data(as_text=True)
    assert db.session.get(Questionnaire, q.id).status == "draft"


def test_the_editor_saves_a_condition_with_the_version(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    q = db.session.scalar(select(Questionnaire).where(Questionnaire.status == "draft",
                                                      Questionnaire.code == chain.ms_q.code))
    thanks = next(i for i in q.items if i.code == "courtesy_thanks")
    data = {"dimension_id": thanks.dimension_id, "code": "courtesy_thanks",
            "item_type": "yesno", "weight": "1", "text": thanks.text,
            "show_visit_types": ["walk_in", "dine_in"], "show_kinds": ["mystery"],
            "when_item": "courtesy_smile", "when_test": "failed", "require_comment": "y"}
    r = client.post(f"/hq/questionnaires/{q.id}/items/{thanks.id}", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Item, thanks.id)
    assert saved.condition == {"visit_types": ["walk_in", "dine_in"], "kinds": ["mystery"],
                               "when": {"item": "courtesy_smile", "failed": True}}
    assert saved.require_comment and not saved.require_photo
    page = client.get(f"/hq/questionnaires/{q.id}").get_data(as_text=True)
    assert "when courtesy_smile is" in page
    # the edit form offers only earlier items and shows what is stored
    form = client.get(f"/hq/questionnaires/{q.id}/items/{thanks.id}").get_data(as_text=True)
    assert re.search(r'<option[^>]*(selected[^>]*value="courtesy_smile"|value="courtesy_smile"'
                     r'[^>]*selected)', form)
    assert 'value="clean_dining"' not in form
    # a value that does not fit the test is refused
    r = client.post(f"/hq/questionnaires/{q.id}/items/{thanks.id}",
                    data={**data, "when_test": "outside", "when_value": "8..2"})
    assert r.status_code == 422 and "fits the test" in r.get_data(as_text=True)
    # published, then copied into the next version with the condition
    assert client.post(f"/hq/questionnaires/{q.id}/publish").status_code == 302
    assert db.session.get(Questionnaire, q.id).status == "published"
    client.post(f"/hq/questionnaires/{q.id}/new-version")
    nxt = db.session.scalar(select(Questionnaire).where(Questionnaire.status == "draft",
                                                        Questionnaire.code == q.code))
    copied = next(i for i in nxt.items if i.code == "courtesy_thanks")
    assert copied.condition == saved.condition and copied.require_comment


def test_a_dimension_condition_hides_the_whole_section(client, auth, chain):
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{chain.ms_q.id}/new-version")
    q = db.session.scalar(select(Questionnaire).where(Questionnaire.status == "draft",
                                                      Questionnaire.code == chain.ms_q.code))
    clean = next(d for d in q.dimensions if d.code == "cleanliness")
    r = client.post(f"/hq/questionnaires/{q.id}/dimensions/{clean.id}", data={
        f"d{clean.id}-name": clean.name, f"d{clean.id}-weight": "20",
        f"d{clean.id}-show_visit_types": "dine_in"})
    assert r.status_code == 302
    assert client.post(f"/hq/questionnaires/{q.id}/publish").status_code == 302
    visit = make_assignment(chain, visit_type="walk_in")
    visit.questionnaire_id = q.id
    db.session.commit()
    html = client.get(f"/shopper/t/{visit.access_token}").get_data(as_text=True)
    assert "clean_restroom" not in html and "courtesy_smile" in html
    assert _submit(client, visit, full_payload(visit)).status_code == 200
    stored = db.session.get(Visit, visit.id)
    assert {ds.dimension: ds.score for ds in stored.dimension_scores}["cleanliness"] is None
    assert not any(a.item.dimension.code == "cleanliness" for a in stored.answers)
