"""What a submission writes: the bulk writer (``visits.save_scored_answers`` and the
statements in ``submission.submit``) stores exactly what the ORM writer
(``visits.score_and_store``) and the scoring engine give, in a handful of statements."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from auditapp.extensions import db
from auditapp.models import Answer, AuditLog, Visit, VisitDimensionScore
from auditapp.questionnaires import copy_as_new_version
from auditapp.visits import load_form, score_and_store

from .shopper_helpers import asked, expected_score, full_payload, make_assignment

MIXED = {"speed_total": 250, "courtesy_smile": 0, "clean_restroom": "na",
         "quality_taste": -30, "accuracy_complete": 1}


def stored(visit_id: int) -> dict:
    """Everything the scores of one visit consist of, as stored."""
    db.session.expire_all()
    visit = db.session.get(Visit, visit_id)
    return {
        "visit": (visit.score, visit.csm, visit.csm_grade, visit.satisfied),
        "answers": sorted((a.item_id, a.value, a.na, a.score, a.voided) for a in visit.answers),
        "dimensions": sorted((d.dimension, d.score, d.weight) for d in visit.dimension_scores),
    }


def submit(client, visit: Visit, values: dict, client_id: str):
    return client.post(f"/api/shopper/visits/{visit.id}/submit",
                       headers={"Authorization": f"Bearer {visit.access_token}"},
                       json=full_payload(visit, values, client_id=client_id))


def test_bulk_writer_stores_what_the_orm_writer_and_the_engine_give(client, chain):
    visit = make_assignment(chain)
    r = submit(client, visit, MIXED, "bulk-1")
    assert r.status_code == 200, r.json
    bulk = stored(visit.id)
    assert len(bulk["answers"]) == len(asked(visit, MIXED))  # the items the visit asks
    assert len(bulk["dimensions"]) == 5
    fresh = db.session.get(Visit, visit.id)
    assert fresh.score == pytest.approx(expected_score(fresh, MIXED))
    assert fresh.scored_at is not None and fresh.submitted_at is not None
    # the draft is emptied (SQL NULL, not a JSON null)
    assert db.session.scalar(select(func.count()).select_from(Visit).where(
        Visit.id == visit.id, Visit.__table__.c.draft.is_(None))) == 1
    # the ORM writer, run on the stored answers, changes nothing
    score_and_store(fresh)
    db.session.commit()
    assert stored(visit.id) == bulk
    audit = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit.id))).all()
    assert [(a.action, a.before, a.after) for a in audit] == [
        ("submit", {"status": "assigned"},
         {"status": "submitted", "client_submission_id": "bulk-1"})]
    assert audit[0].user_id == chain.shoppers[0].id


def test_resubmitted_visit_keeps_its_answer_rows_and_voided_flags(client, chain):
    visit = make_assignment(chain)
    assert submit(client, visit, {}, "first").status_code == 200
    visit = db.session.get(Visit, visit.id)
    ids_before = {a.item_id: a.id for a in visit.answers}
    taste = next(a for a in visit.answers if a.item.code == "quality_taste")
    taste.voided = True  # as after an upheld dispute: counts as N/A from now on
    visit.status, visit.return_reason = "returned", "Please check the taste answer"
    db.session.commit()

    r = submit(client, visit, {"quality_taste": -90, "courtesy_smile": 0}, "second")
    assert r.status_code == 200 and r.json["duplicate"] is False
    again = stored(visit.id)
    fresh = db.session.get(Visit, visit.id)
    assert {a.item_id: a.id for a in fresh.answers} == ids_before  # updated in place
    taste = next(a for a in fresh.answers if a.item.code == "quality_taste")
    assert taste.voided and taste.value == -90 and taste.score is None
    assert fresh.score == pytest.approx(expected_score(fresh, {"quality_taste": "na",
                                                               "courtesy_smile": 0}))
    assert len(again["dimensions"]) == 5
    assert db.session.scalar(select(func.count()).select_from(VisitDimensionScore)
                             .where(VisitDimensionScore.visit_id == visit.id)) == 5
    score_and_store(fresh)
    db.session.commit()
    assert stored(visit.id) == again
    assert fresh.status == "submitted" and fresh.client_submission_id == "second"


def test_a_submission_id_of_another_visit_is_refused_and_nothing_written(client, chain):
    first = make_assignment(chain)
    second = make_assignment(chain, store=chain.stores[1])
    assert submit(client, first, {}, "shared-id").status_code == 200
    r = submit(client, second, {}, "shared-id")
    assert r.status_code == 422
    assert r.json["errors"] == {
        "client_submission_id": "This submission id belongs to another visit."}
    db.session.expire_all()
    assert db.session.get(Visit, second.id).status == "assigned"
    assert db.session.scalar(select(func.count()).select_from(Answer)
                             .where(Answer.visit_id == second.id)) == 0
    # once the second visit is submitted, the first visit's id is still refused, not
    # taken for a repeat of the second one
    assert submit(client, second, {}, "own-id").status_code == 200
    r = submit(client, second, {}, "shared-id")
    assert r.status_code == 422 and "client_submission_id" in r.json["errors"]
    assert submit(client, second, {}, "own-id").json["duplicate"] is True


def test_a_submission_takes_a_handful_of_statements(client, chain):
    """The end-of-month path stays lean: no statement per answer, no questionnaire query
    once the published form is known. (A count, not a time.)"""
    warm, visit = make_assignment(chain), make_assignment(chain, store=chain.stores[1])
    assert submit(client, warm, {}, "warm").status_code == 200
    url = f"/api/shopper/visits/{visit.id}/submit"
    headers = {"Authorization": f"Bearer {visit.access_token}"}
    payload = full_payload(visit, MIXED, client_id="lean")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # a driver executemany (a list of parameter sets) is one call here but one INSERT
        # per row in the database; one multi-row INSERT has one set of parameters
        many = isinstance(parameters, list) and len(parameters) > 1
        statements.append(statement.split()[0].upper() + (" (executemany)" if many else ""))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.post(url, headers=headers, json=payload).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    data = [s for s in statements if s not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                               "RELEASE")]
    # the token's visit (locked), its store's time zone (the date rules of issue #15), all
    # answers, all dimension scores, visit, audit row; SQLite takes its write lock first
    # with an UPDATE that changes nothing (visit_states); then the integrity checks
    # (auditapp/integrity.py): the submit event, their settings (one statement: the version
    # in force, else the row from before versions, settings._IN_FORCE), the visit's photos, timer
    # events and store, and the flags (here: too fast); whether the visit is a scenario
    # shop (issue #24: one SELECT of scenario_visits); then the questionnaire's integrity
    # questions (issue #20: none here)
    lock = ["UPDATE"] if db.engine.dialect.name == "sqlite" else []
    assert data == [*lock, "SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "UPDATE", "INSERT",
                    "INSERT", "SELECT", "SELECT", "SELECT", "INSERT", "SELECT"], statements


def test_published_forms_are_read_once_drafts_every_time(app, chain):
    published = load_form(chain.ms_q.id)
    assert load_form(chain.ms_q.id) is published
    draft = copy_as_new_version(chain.ms_q, 2)
    db.session.add(draft)
    db.session.commit()
    before = load_form(draft.id)
    assert [i.weight for i in before.items] == [i.weight for i in published.items]
    draft.dimensions[0].items[0].weight = 7.0
    db.session.commit()
    after = load_form(draft.id)
    assert after is not before and after.items[0].weight == 7.0
    assert after.dimension_weights == published.dimension_weights
