"""The scoring engine with arbitrary answers: it either scores (every figure within its
range) or refuses with its own ``ScoringError`` — never another exception, never NaN."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditapp import scoring
from auditapp.scoring import ItemAnswer, ScoringError

anything = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats()
            | st.text(max_size=5) | st.sampled_from(scoring.SCALE7_LEVELS))
targets = st.none() | st.floats(-10, 1000) | st.just(120.0)

answers = st.builds(
    ItemAnswer,
    dimension=st.sampled_from(scoring.DIMENSIONS) | st.text(max_size=3),
    item_type=st.sampled_from(["yesno", "scale7", "timed"]) | st.text(max_size=6),
    value=anything,
    na=st.booleans(),
    weight=st.floats(0.1, 10),
    critical=st.booleans(),
    target=targets,
    limit=targets | st.just(300.0),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(answers, max_size=12),
       st.dictionaries(st.sampled_from(scoring.DIMENSIONS), st.floats(0.5, 50), max_size=5))
def test_any_answers_score_in_range_or_raise_scoring_error(items, weights):
    try:
        result = scoring.score_visit(items, weights or None)
    except ScoringError as error:
        assert str(error)
        return
    for value in [result.score, *result.dimensions.values(), *result.item_scores]:
        assert value is None or (math.isfinite(value) and -1e-9 <= value <= 100 + 1e-9)
    if result.csm is not None:
        assert -90 <= result.csm <= 90 and result.csm_grade in scoring.SCALE7_LEVELS


@given(anything, st.sampled_from(["yesno", "scale7", "timed", "other"]), targets, targets)
def test_item_score_refuses_bad_values_with_a_message(value, item_type, target, limit):
    try:
        s = scoring.item_score(item_type, value, target=target, limit=limit)
    except ScoringError as error:
        assert str(error)
    else:
        assert 0 <= s <= 100
