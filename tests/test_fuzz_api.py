"""Bad input never breaks the API.

- schemathesis generates requests from the app's own OpenAPI description
  (/api/openapi.json) and sends them in-process (WSGI) with real credentials — the HQ
  API token and a shopper's assignment token, half the time for the real visit — and
  checks that no answer is a 500 and that every answer matches the description.
- hypothesis throws arbitrary JSON at the submission/draft parsing in
  ``auditapp/submission.py``: nothing raises, and validation answers with messages only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditapp import submission
from auditapp.api.hq import issue_token
from auditapp.extensions import db
from auditapp.models import utcnow
from auditapp.visits import load_form

from .factories import make_visit
from .shopper_helpers import make_assignment

EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))



def json_strategy(floats: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | floats | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    )


#: What json.loads can give (Python's parser reads NaN and Infinity too).
json_values = json_strategy(st.floats())
#: What a strict JSON encoder sends.
strict_json = json_strategy(st.floats(allow_nan=False, allow_infinity=False))


def test_api_never_fails_on_generated_requests(app, chain):
    visit = make_assignment(chain)
    make_visit(chain, chain.stores[0], visit_date=(utcnow() - timedelta(days=40)).date())
    hq_token = issue_token(chain.hq)
    db.session.commit()
    item_ids = [str(i.id) for i in visit.questionnaire.items]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        token = hq_token if "/api/hq/" in operation.path else visit.access_token
        case_headers = {"Authorization": f"Bearer {token}"}

        @FUZZ
        @given(case=operation.as_strategy(), real_visit=st.booleans(),
               answers=st.dictionaries(st.sampled_from(item_ids), strict_json, max_size=5))
        def run(case, real_visit, answers):
            if real_visit and "visit_id" in (case.path_parameters or {}):
                case.path_parameters["visit_id"] = visit.id
            if isinstance(case.body, dict) and real_visit and answers:
                case.body["answers"] = answers  # with the real items' ids too
            case.call_and_validate(headers=case_headers, excluded_checks=[  # noqa: B023
                # a well-formed request may still name a store that does not exist, or
                # submit a visit twice: refusing it with a 400/409/422 is right
                schemathesis.checks.positive_data_acceptance,
                # every request carries real credentials (above), so "does the API refuse
                # made-up ones" cannot be asked here: test_access_matrix.py checks that
                schemathesis.checks.ignored_auth])

        run()


@pytest.fixture
def open_visit(chain):
    return make_assignment(chain)


@FUZZ
@given(payload=json_values)
def test_payload_cleaning_accepts_any_json(payload):
    clean = submission._clean_payload(payload)
    assert set(clean) == {"answers", "facts"}
    for answer in clean["answers"].values():
        assert isinstance(answer["na"], bool) and isinstance(answer["comment"], str)


def test_validation_answers_any_json_with_messages(app, open_visit):
    items = open_visit.questionnaire.items
    answer = st.fixed_dictionaries({}, optional={"value": json_values, "na": json_values,
                                                 "comment": json_values}) | json_values
    payloads = st.fixed_dictionaries({}, optional={
        "client_submission_id": json_values,
        "answers": st.dictionaries(st.sampled_from([str(i.id) for i in items]) | st.text(),
                                   answer, max_size=len(items)) | json_values,
        "facts": st.fixed_dictionaries({}, optional={k: json_values | st.dates().map(str)
                                                     for k in submission.FACT_FIELDS})
        | json_values,
    }) | json_values

    form = load_form(open_visit.questionnaire_id)

    @FUZZ
    @given(payload=payloads)
    def run(payload):
        with app.test_request_context():  # messages are translated per request
            checked = submission.validate(open_visit, payload, form)
        assert all(isinstance(m, str) and m for m in checked.errors.values())
        for value, na, comment in checked.answers.values():
            assert na or value is not None
            assert isinstance(comment, str)

    run()


def test_form_parsing_accepts_any_fields(app, open_visit):
    from werkzeug.datastructures import MultiDict

    names = st.sampled_from([f"{p}{i.id}" for i in open_visit.questionnaire.items
                             for p in ("v_", "na_", "c_")] + list(submission.FACT_FIELDS)) \
        | st.text(max_size=10)
    form = load_form(open_visit.questionnaire_id)

    @FUZZ
    @given(fields=st.lists(st.tuples(names, st.text(max_size=12)), max_size=20))
    def run(fields):
        payload = submission.payload_from_form(MultiDict(fields))
        with app.test_request_context():
            checked = submission.validate(open_visit, payload, form)
        assert all(isinstance(m, str) for m in checked.errors.values())

    run()


def test_submit_and_draft_endpoints_never_fail_on_any_json(app, client, open_visit):
    url = f"/api/shopper/visits/{open_visit.id}"
    headers = {"Authorization": f"Bearer {open_visit.access_token}"}

    @FUZZ
    @given(payload=strict_json, endpoint=st.sampled_from(["submit", "draft", "checkin"]))
    def run(payload, endpoint):
        r = client.post(f"{url}/{endpoint}", json=payload, headers=headers)
        assert r.status_code in (200, 400, 409, 422), (r.status_code, r.get_json())
        assert r.is_json

    run()
