"""Integrity questions (issue #20): asked on the shopper's form, never scored into the visit,
marked against the answer HQ recorded for the store and month; a wrong answer lowers the
shopper's accuracy and flags the visit (risk score)."""

from __future__ import annotations

from sqlalchemy import select

from auditapp import integrity, integrity_questions, shoppers
from auditapp.analytics import Period
from auditapp.extensions import db
from auditapp.models import IntegrityAnswer, IntegrityQuestion, Visit, VisitFlag

from .shopper_helpers import full_payload, make_assignment


def _form_data(visit, iq: dict[str, str], client_id: str) -> dict:
    p = full_payload(visit, client_id=client_id)
    data = {"action": "submit", "client_submission_id": client_id, **p["facts"],
            "visit_type_confirmed": "1"}
    for key, a in p["answers"].items():
        data[f"v_{key}"] = str(a["value"])
    data.update(iq)
    return data


def test_wrong_answer_flags_the_visit_and_lowers_accuracy(client, auth, chain):
    code = chain.ms_q.code
    auth.login("hq@example.com")
    client.post(f"/hq/questionnaires/{code}/quiz",
                data={"action": "integrity_add", "text": "Which promotion is on the counter?",
                      "options": "Spicy wings\nFree coffee\nNone"})
    question = db.session.scalars(select(IntegrityQuestion)).one()
    right_visit = make_assignment(chain, store=chain.stores[0])
    wrong_visit = make_assignment(chain, store=chain.stores[1], shopper=chain.shoppers[1])
    month = right_visit.month
    r = client.post(f"/hq/integrity-answers?month={month}", data={
        f"truth-{question.id}-{chain.stores[0].id}": "1",
        f"truth-{question.id}-{chain.stores[1].id}": "1"})
    assert r.status_code == 303
    auth.logout()

    auth.login("MS-101")
    form = client.get(f"/shopper/visits/{right_visit.id}").get_data(as_text=True)
    assert "Which promotion is on the counter?" in form and f'name="iq_{question.id}"' in form
    r = client.post(f"/shopper/visits/{right_visit.id}",
                    data=_form_data(right_visit, {f"iq_{question.id}": "1"}, "iq-right"))
    assert r.status_code == 302
    auth.logout()
    auth.login("MS-102")
    client.post(f"/shopper/visits/{wrong_visit.id}",
                data=_form_data(wrong_visit, {f"iq_{question.id}": "0"}, "iq-wrong"))
    auth.logout()

    db.session.expire_all()
    right, wrong = db.session.get(Visit, right_visit.id), db.session.get(Visit, wrong_visit.id)
    assert right.status == wrong.status == "submitted"
    assert right.score == wrong.score  # not scored into the visit
    answers = {a.visit_id: a.correct for a in db.session.scalars(select(IntegrityAnswer))}
    assert answers == {right.id: True, wrong.id: False}
    flags = db.session.scalars(select(VisitFlag).where(
        VisitFlag.code == integrity_questions.FLAG_CODE)).all()
    assert [f.visit_id for f in flags] == [wrong.id]
    # the riskier visit comes first in the review queue, with the reason
    assert integrity.review_queue()[0].id == wrong.id
    auth.login("hq@example.com")
    page = client.get(f"/hq/visits/{wrong.id}").get_data(as_text=True)
    assert "Wrong integrity answer" in page and "Which promotion is on the counter?" in page
    figures = {f.user.username: f for f in shoppers.figures(Period.month(month))}
    assert (figures["MS-101"].accuracy, figures["MS-101"].accuracy_n) == (1.0, 1)
    assert (figures["MS-102"].accuracy, figures["MS-102"].accuracy_n) == (0.0, 1)

    # HQ corrects the truth for the second store: the answer is marked again, flag gone
    client.post(f"/hq/integrity-answers?month={month}",
                data={f"truth-{question.id}-{chain.stores[1].id}": "0"})
    db.session.expire_all()
    assert db.session.get(IntegrityAnswer, (wrong.id, question.id)).correct is True
    assert not db.session.scalars(select(VisitFlag).where(
        VisitFlag.code == integrity_questions.FLAG_CODE)).all()


def test_answers_wait_for_the_truth(client, auth, chain):
    code = chain.ms_q.code
    q = integrity_questions.add_question(code, "Badge colour?", ["Red", "Blue"], chain.hq.id)
    db.session.commit()
    visit = make_assignment(chain)
    auth.login("MS-101")
    client.post(f"/shopper/visits/{visit.id}", data=_form_data(visit, {f"iq_{q.id}": "1"},
                                                                "iq-wait"))
    db.session.expire_all()
    assert db.session.get(IntegrityAnswer, (visit.id, q.id)).correct is None
    integrity_questions.record_truths(visit.month, {(q.id, visit.store_id): 0}, chain.hq.id)
    db.session.commit()
    assert db.session.get(IntegrityAnswer, (visit.id, q.id)).correct is False
    assert db.session.scalars(select(VisitFlag).where(VisitFlag.visit_id == visit.id,
                                                      VisitFlag.code == "integrity_answer")).one()
