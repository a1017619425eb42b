"""Every route of the app, called as every kind of user, against the policy table in
``tests/access_policy.py``.

"Denied" is 401, 403, 404, or (for anonymous users) a redirect to the login page;
anything else — a page, a redirect elsewhere, a validation error — is "allowed". A 500 is
always a failure, and every HTML page must carry a Content-Security-Policy that forbids
inline scripts.

The sample objects are built once; each role gets one client, logged in once. GET routes
are called before the state-changing ones, and roles are taken from the least to the most
privileged, so the little state the calls change (a dispute filed, a visit acknowledged)
does not hide a denial from a later call. Set ``ACCESS_MATRIX_PRINT=1`` to print the
observed matrix (handy when adding routes).
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from flask import Flask, g
from werkzeug.routing import Rule

from auditapp.extensions import db
from auditapp.models import (
    CompetitorStore,
    MonthClosure,
    MonthEndPart,
    MonthEndRun,
    Notification,
    Scenario,
    Visit,
    utcnow,
)
from auditapp.models.followup import CorrectiveAction, Dispute
from auditapp.models.visit import ASSIGNED
from auditapp.visits import new_access_token

from . import access_policy
from .access_policy import POLICY, ROLES
from .factories import PASSWORD, make_complaint, make_user
from .manager_helpers import add_photo, answer, make_area_manager, png_bytes, released_visit

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
SKIPPED_ENDPOINTS = {"static"}
#: Logging out ends the session: called last for each role.
LAST = {"auth.logout"}

LOGINS = {
    "shopper": "MS-101",
    "other_shopper": "MS-102",
    "manager_a": "m.e001@example.com",
    "manager_b": "m.e002@example.com",
    "area_a": "area.east@example.com",
    "area_b": "area.north@example.com",
    "qa": "qa@example.com",
    "hq": "hq@example.com",
}


def routes(app: Flask) -> list[tuple[Rule, str]]:
    """(rule, method) for every route except static, GET routes first, logout last."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            out.append((rule, method))
    return sorted(out, key=lambda rm: (rm[0].endpoint in LAST, rm[1] != "GET",
                                       rm[0].rule, rm[1]))


def build_samples(chain) -> dict:
    """One sample object per URL parameter name (store A's released visit and what hangs
    off it), plus per-endpoint overrides where a route needs a different object."""
    from auditapp import storage
    from auditapp.jobs import start_report

    store_a = chain.stores[0]
    visit = released_visit(chain, store_a)
    photo = add_photo(visit)
    ans = answer(visit, "clean_restroom")
    evidence_key = storage.save(storage.new_key("evidence", ".png"), png_bytes())
    dispute = Dispute(visit=visit, answer=ans, reason="It was clean.",
                      evidence_keys=[evidence_key], created_by_id=chain.managers[0].id)
    action = CorrectiveAction(visit=visit, answer=ans, action="Restock soap", owner="Wang",
                              due_date=date.today() + timedelta(days=7),
                              created_by_id=chain.managers[0].id,
                              evidence_key=evidence_key)
    scenario = Scenario(code="SC-AM", title="Cold fries", script="Say the fries are cold.",
                        visit_types=["walk_in"])
    complaint = make_complaint(store_a, utcnow() - timedelta(days=2))
    competitor = CompetitorStore(competitor="Other Burger", name="Other Burger Nanjing Rd",
                                 region=chain.regions[0])
    other_user = make_user("MS-199", "shopper", "Spare Shopper")
    make_area_manager("area.east@example.com", chain.regions[0])  # store A's region
    make_area_manager("area.north@example.com", chain.regions[1])
    # An assignment not yet done (scheduling and the QA form need one).
    assigned = Visit(kind="mystery", store=store_a, evaluator=chain.shoppers[0],
                     questionnaire=chain.ms_q, month=visit.month, visit_type="walk_in",
                     status=ASSIGNED, access_token=new_access_token(),
                     token_expires_at=utcnow() + timedelta(days=30))
    qa_visit = Visit(kind="qa", store=store_a, evaluator=chain.qa, questionnaire=chain.qa_q,
                     month=visit.month, visit_type="walk_in", status=ASSIGNED,
                     access_token=new_access_token())
    # store A's manager's inbox line (only its reader may mark it read)
    note = Notification(user_id=chain.managers[0].id, event="visit_released",
                        params={"store": store_a.name, "month": visit.month, "score": "80.0"},
                        link=f"/manager/visits/{visit.id}")
    db.session.add_all([dispute, action, competitor, assigned, qa_visit, note, scenario])
    # a closed month's month-end run with store A's finished report (issue #22)
    run = MonthEndRun(month="2020-01", locale="en")
    db.session.add_all([MonthClosure(month="2020-01", settings={}), run])
    db.session.flush()
    report = MonthEndPart(run_id=run.id, kind="store", key=str(store_a.id), store_id=store_a.id,
                          status="done", attempts=1, error="", filename="store-E001.pdf",
                          storage_key=storage.save(storage.new_key("month-end/2020-01", ".pdf"),
                                                   b"%PDF-1.4 sample"))
    db.session.add(report)
    # issue #20: a payment batch and a certification quiz question
    from auditapp.models import PaymentBatch, QuizQuestion

    batch = PaymentBatch()
    quiz_question = QuizQuestion(questionnaire_code=chain.ms_q.code, text="Tell the staff?",
                                 options=["Yes", "No"], correct=1)
    db.session.add_all([batch, quiz_question])
    visit.token_expires_at = utcnow() + timedelta(days=30)
    db.session.commit()
    questionnaire = chain.ms_q
    dimension = questionnaire.dimensions[0]
    values = {
        "visit_id": visit.id,
        "photo_id": photo.id,
        "answer_id": ans.id,
        "dispute_id": dispute.id,
        "action_id": action.id,
        "scenario_id": scenario.id,
        "complaint_id": complaint.id,
        "region_id": chain.regions[0].id,
        "store_id": store_a.id,
        "questionnaire_id": questionnaire.id,
        "dimension_id": dimension.id,
        "item_id": dimension.items[0].id,
        "user_id": other_user.id,
        "competitor_id": competitor.id,
        "notification_id": note.id,
        "batch_id": batch.id,
        "token": visit.access_token,
        "n": 0,
        "code": "zh_CN",
        "fmt": "csv",
        "run_id": run.id,
        "part_id": report.id,
        # a finished brand-summary job (no Redis in tests: it runs at once)
        "job_id": start_report("brand_summary", {"month": visit.month, "region_id": None,
                                                 "locale": "en"}),
    }
    overrides = {
        ("hq.qa_visit", "visit_id"): qa_visit.id,
        ("hq.scheduling_reassign", "visit_id"): assigned.id,
        ("hq.questionnaire_quiz", "code"): chain.ms_q.code,
        ("shopper.quiz", "code"): chain.ms_q.code,
    }
    return {"values": values, "overrides": overrides}


def url_for_rule(rule: Rule, samples: dict) -> str:
    kwargs = {}
    for name in sorted(rule.arguments):
        key = (rule.endpoint, name)
        if key in samples["overrides"]:
            kwargs[name] = samples["overrides"][key]
        elif name in samples["values"]:
            kwargs[name] = samples["values"][name]
        else:
            pytest.fail(f"add a sample value for {name} (route {rule.rule}, "
                        f"endpoint {rule.endpoint}) in tests/test_access_matrix.py")
    return rule.build(kwargs, append_unknown=False)[1]


def is_denied(role: str, response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if role == "anonymous" and response.status_code in (301, 302, 303, 307):
        return "/auth/login" in response.headers.get("Location", "")
    return False


def check_csp(url: str, response) -> str | None:
    if response.mimetype != "text/html":
        return None
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src") or directives.get("default-src", "")
    if not script or "unsafe-inline" in script or "unsafe-eval" in script \
            or "'self'" not in script:
        return f"{url}: weak or missing Content-Security-Policy ({csp!r})"
    if "frame-ancestors 'none'" not in csp:
        return f"{url}: CSP without frame-ancestors 'none'"
    return None


def forget_user() -> None:
    """The ``app`` fixture keeps an app context (and so ``g``) open across requests, and
    Flask-Login caches the user in ``g``: drop it so each client's own session counts."""
    g.pop("_login_user", None)


def login_clients(app: Flask) -> dict:
    clients = {"anonymous": app.test_client()}
    for role, username in LOGINS.items():
        c = app.test_client()
        forget_user()
        r = c.post("/auth/login", data={"username": username, "password": PASSWORD})
        assert r.status_code == 302, f"{role} could not log in"
        clients[role] = c
    return clients


def test_every_route_has_a_policy(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - SKIPPED_ENDPOINTS
    missing = sorted(endpoints - set(POLICY))
    assert not missing, (
        "These routes have no entry in tests/access_policy.py's POLICY; declare which roles "
        f"may use them: {', '.join(missing)}"
    )
    stale = sorted(set(POLICY) - endpoints)
    assert not stale, f"POLICY names routes that no longer exist: {', '.join(stale)}"
    for endpoint, roles in POLICY.items():
        assert set(roles) <= set(ROLES), f"{endpoint}: unknown role in {roles}"


def test_access_matrix(app, chain):
    samples = build_samples(chain)
    clients = login_clients(app)
    problems: list[str] = []
    observed: dict[str, set[str]] = {}
    calls = routes(app)
    for role in ROLES:  # least privileged first
        client = clients[role]
        for rule, method in calls:
            if rule.endpoint not in POLICY:
                continue  # reported by test_every_route_has_a_policy
            url = url_for_rule(rule, samples)
            forget_user()
            with client.open(url, method=method, data={}) as response:
                denied = is_denied(role, response)
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {role}: {response.status_code}")
                    continue
                csp_problem = check_csp(url, response)
                if csp_problem:
                    problems.append(csp_problem)
            if not denied:
                observed.setdefault(rule.endpoint, set()).add(role)
            allowed = role in access_policy.allowed(rule.endpoint, method)
            if allowed and denied:
                problems.append(f"{method} {url} as {role}: denied ({response.status_code} "
                                f"{response.headers.get('Location', '')}) but the policy "
                                "allows it")
            elif not allowed and not denied:
                problems.append(f"{method} {url} as {role}: allowed ({response.status_code}) "
                                "but the policy denies it — an access hole?")
    if os.environ.get("ACCESS_MATRIX_PRINT"):
        for endpoint in sorted({r.endpoint for r, _ in calls}):
            print(f"{endpoint!r}: {sorted(observed.get(endpoint, set()))},")
    assert not problems, "\n".join(problems)
