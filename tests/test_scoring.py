"""Unit tests of scoring.py against SCORING.md: the worked example and edge cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditapp import scoring
from auditapp.scoring import ItemAnswer as A
from auditapp.scoring import ScoringConfig, ScoringError

DT = dict(target=180, limit=360)  # drive-thru defaults


def worked_example() -> list[A]:
    return [
        A("speed", "timed", 240, **DT),
        A("speed", "yesno", 1),
        A("courtesy", "scale7", 60),
        A("courtesy", "yesno", 0),
        A("courtesy", "scale7", 30, weight=2),
        A("accuracy", "yesno", 1, critical=True),
        A("accuracy", "yesno", 1),
        A("quality", "scale7", 0),
        A("quality", "yesno", na=True),
        A("quality", "yesno", 1),
        A("cleanliness", "yesno", 0, critical=True),
        A("cleanliness", "scale7", 90),
    ]


def test_worked_example_visit():
    result = scoring.score_visit(worked_example())
    d = result.dimensions
    assert d["speed"] == pytest.approx(83.3333333, abs=1e-6)
    assert d["courtesy"] == pytest.approx(54.1666667, abs=1e-6)
    assert d["accuracy"] == 100
    assert d["quality"] == 75
    assert d["cleanliness"] == 0
    assert result.score == pytest.approx(62.5)
    assert result.csm == 45
    assert result.csm_grade == 30  # tie between +30 and +60 goes to the lower level
    assert result.satisfied is True
    assert scoring.fmt_score(result.score) == "62.5"


def test_worked_example_store_month():
    ms = scoring.mean([62.5, 80])
    assert ms == 71.25
    hl = scoring.hotline_score([("major", 24), ("minor", None)])
    assert hl == 95.5
    value = scoring.bdi(ms, 90, hl)
    assert value == pytest.approx(79.575)
    assert scoring.band(value) == "fair"


@pytest.mark.parametrize(
    ("item_type", "value", "expected"),
    [
        ("yesno", 1, 100), ("yesno", 0, 0), ("yesno", True, 100),
        ("scale7", -90, 0), ("scale7", -60, 100 / 6), ("scale7", 0, 50), ("scale7", 90, 100),
        ("timed", 0, 100), ("timed", 180, 100), ("timed", 270, 50), ("timed", 360, 0),
        ("timed", 1000, 0),
    ],
)
def test_item_score(item_type, value, expected):
    assert scoring.item_score(item_type, value, **DT) == pytest.approx(expected)


def test_timed_exactly_at_target_and_limit_for_each_visit_type():
    for visit_type, (t, limit) in scoring.DEFAULT_TIMED_TARGETS.items():
        assert scoring.timed_target(visit_type) == (t, limit)
        assert scoring.item_score("timed", t, target=t, limit=limit) == 100
        assert scoring.item_score("timed", limit, target=t, limit=limit) == 0
        assert scoring.item_score("timed", (t + limit) / 2, target=t, limit=limit) == 50


def test_timed_targets_can_be_overridden_per_item():
    assert scoring.timed_target("walk_in", {"walk_in": [60, 90]}) == (60, 90)
    assert scoring.timed_target("dine_in", {"walk_in": [60, 90]}) == (300, 600)


@pytest.mark.parametrize(
    ("item_type", "value"),
    [("yesno", 2), ("scale7", 45), ("scale7", None), ("timed", -1), ("timed", math.nan),
     ("bogus", 1)],
)
def test_bad_answers_are_refused_with_a_message(item_type, value):
    with pytest.raises(ScoringError) as error:
        scoring.item_score(item_type, value, **DT)
    assert str(error.value)


def test_all_na_dimension_is_left_out():
    answers = [
        A("speed", "yesno", na=True), A("speed", "timed", na=True), A("courtesy", "yesno", 1)
    ]
    result = scoring.score_visit(answers)
    assert result.dimensions["speed"] is None
    assert result.score == 100
    assert scoring.score_visit([A("speed", "yesno", na=True)]).score is None


def test_failed_critical_item_zeroes_its_dimension_but_it_still_counts():
    answers = [
        A("accuracy", "yesno", 0, critical=True), A("accuracy", "yesno", 1),
        A("speed", "yesno", 1),
    ]
    result = scoring.score_visit(answers)
    assert result.dimensions["accuracy"] == 0
    assert result.score == 50


def test_critical_item_partly_failed_does_not_zero():
    answers = [A("speed", "timed", 270, critical=True, **DT), A("speed", "yesno", 1)]
    assert scoring.dimension_score(answers) == 75


def test_na_critical_item_does_not_zero():
    assert scoring.dimension_score([A("quality", "yesno", na=True, critical=True),
                                    A("quality", "yesno", 1)]) == 100


def test_dimension_weights_are_renormalised():
    answers = [A("speed", "yesno", 1), A("courtesy", "yesno", 0), A("quality", "yesno", na=True)]
    result = scoring.score_visit(answers, {"speed": 30, "courtesy": 10, "quality": 60})
    assert result.score == 75


@pytest.mark.parametrize(
    ("value", "grade"),
    [(-90, -90), (-75, -90), (-74.9, -60), (-15, -30), (0, 0), (14.9, 0), (15, 0), (15.1, 30),
     (45, 30), (75, 60), (76, 90), (90, 90)],
)
def test_csm_grade_nearest_level_ties_go_lower(value, grade):
    assert scoring.csm_grade(value) == grade


def test_csm_ignores_na_and_visits_without_scale7_have_none():
    assert scoring.csm([60, None, 0]) == 30
    assert scoring.score_visit([A("speed", "yesno", 1)]).csm is None
    assert scoring.score_visit([A("speed", "scale7", na=True)]).csm is None


def test_satisfaction_rate():
    assert scoring.satisfaction_rate([45, 30, 29.9, None, -90]) == 50
    assert scoring.satisfaction_rate([None]) is None
    assert scoring.is_satisfied(30) is True
    assert scoring.is_satisfied(29.99) is False


def test_hotline_score_deductions_and_floor():
    assert scoring.hotline_score([]) == 100
    assert scoring.hotline_score([("critical", None)] * 11) == 0
    assert scoring.hotline_score([("critical", 48)]) == 95  # exactly 48 h still counts as quick
    assert scoring.hotline_score([("critical", 48.01)]) == 90
    with pytest.raises(ScoringError):
        scoring.hotline_score([("catastrophic", None)])


def test_bdi_missing_components():
    assert scoring.bdi(None, None, 100) is None
    assert scoring.bdi(80, None, 100) == pytest.approx((0.6 * 80 + 0.15 * 100) / 0.75)
    assert scoring.bdi(None, 90, 50) == pytest.approx((0.25 * 90 + 0.15 * 50) / 0.40)
    assert scoring.bdi(80, 90, 100) == pytest.approx(0.6 * 80 + 0.25 * 90 + 0.15 * 100)


def test_bands_and_custom_config():
    assert [scoring.band(x) for x in (100, 90, 89.99, 80, 70, 69.99)] == [
        "excellent", "excellent", "good", "good", "fair", "needs_improvement"]
    assert scoring.band(None) is None
    config = ScoringConfig.from_dict({"bands": [[95, "excellent"], [85, "good"], [75, "fair"]],
                                      "component_weights": {"MS": 1, "QA": 1, "HL": 0}})
    assert scoring.band(90, config) == "good"
    assert scoring.bdi(80, 60, 0, config) == 70


@pytest.mark.parametrize(
    "data",
    [
        {"component_weights": {"MS": -1, "QA": 1, "HL": 1}},
        {"component_weights": {"MS": 0, "QA": 0, "HL": 0}},
        {"component_weights": {"MS": 1, "QA": 1}},
        {"hotline_deductions": {"minor": 1, "major": 2}},
        {"bands": [[80, "good"], [90, "excellent"]]},
        {"quick_resolution_factor": 2},
    ],
)
def test_invalid_config_is_refused(data):
    with pytest.raises(ScoringError):
        ScoringConfig.from_dict(data)


def test_config_round_trip():
    assert ScoringConfig.from_dict(ScoringConfig().to_dict()) == ScoringConfig()


def test_group_score_and_trend():
    assert scoring.group_score([80, None, 90]) == 85
    assert scoring.group_score([None]) is None
    assert scoring.trend(85, 80) == 5
    assert scoring.trend(85, None) is None


def test_fmt_score_rounds_for_display_only():
    assert scoring.fmt_score(79.575) == "79.6"
    assert scoring.fmt_score(62.45) == "62.5"
    assert scoring.fmt_score(None) == "–"
    assert scoring.fmt_score(0.04) == "0.0"


# --- properties --------------------------------------------------------------------------

answers = st.builds(
    A,
    dimension=st.sampled_from(scoring.DIMENSIONS),
    item_type=st.just("scale7"),
    value=st.sampled_from(scoring.SCALE7_LEVELS),
    na=st.booleans(),
    weight=st.floats(0.1, 10),
    critical=st.booleans(),
) | st.builds(
    A,
    dimension=st.sampled_from(scoring.DIMENSIONS),
    item_type=st.just("timed"),
    value=st.floats(0, 2000),
    na=st.booleans(),
    weight=st.floats(0.1, 10),
    critical=st.booleans(),
    target=st.just(120.0),
    limit=st.just(300.0),
)


@given(st.lists(answers, max_size=30))
def test_visit_score_is_within_0_and_100(items):
    result = scoring.score_visit(items)
    for value in [result.score, *result.dimensions.values()]:
        assert value is None or 0 <= value <= 100 + 1e-9
    if result.csm is not None:
        assert -90 <= result.csm <= 90
        assert result.csm_grade in scoring.SCALE7_LEVELS


@given(
    st.one_of(st.none(), st.floats(0, 100)),
    st.one_of(st.none(), st.floats(0, 100)),
    st.floats(0, 100),
)
def test_bdi_lies_between_its_components(ms, qa, hl):
    value = scoring.bdi(ms, qa, hl)
    if ms is None and qa is None:
        assert value is None
    else:
        present = [x for x in (ms, qa, hl) if x is not None]
        assert min(present) - 1e-9 <= value <= max(present) + 1e-9


def test_kinds_statuses_and_item_types_are_compared_with_constants():
    """Item types, visit kinds and statuses, action, dispute and questionnaire statuses are
    compared with their named constants (scoring.YESNO, QA, DISPUTED, ACTION_OPEN, …) in code
    and templates, never with bare strings (issue #14)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    codes = ("yesno|scale7|timed|mystery|qa|competitor|assigned|in_progress|submitted|returned"
             "|released|disputed|done|verified|upheld|rejected|draft|published|retired")
    compared = re.compile(
        rf"""(?<!`)\b(item_type|kind|status)(\.data)?\s*(==|!=)\s*["']({codes})["']""")
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for folder, pattern in (("auditapp", "*.py"), ("templates", "*.html"))
        for path in (root / folder).rglob(pattern)
        for match in compared.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


# --- reliability (SCORING.md §10) ---------------------------------------------------------


def test_reliability_worked_example():
    """§10's example: the store of §7 with σ = 12, to the digits SCORING.md prints."""
    sigma, n = 12.0, 2
    se = scoring.ms_standard_error(sigma, n)
    assert f"{se:.3f}" == "8.485"
    ms = scoring.interval(71.25, se)
    assert (f"{ms.low:.2f}", f"{ms.high:.2f}") == ("57.29", "85.21")

    bdi = scoring.bdi(71.25, 90, 95.5)
    e = scoring.bdi_error(sigma, n, has_qa=True)
    assert f"{scoring.Z90 * e:.3f}" == "8.375"
    span = scoring.interval(bdi, e)
    assert (f"{span.low:.2f}", f"{span.high:.2f}") == ("71.20", "87.95")
    assert scoring.band(bdi) == "fair"
    assert scoring.bands_touched(span) == ("fair", "good")  # provisional "Fair–Good"


def test_reliability_confirmed_band_and_clipping():
    e = scoring.bdi_error(12.0, 9, has_qa=True)  # SE 4, e 2.4, half-width 3.948
    assert scoring.bands_touched(scoring.interval(85.0, e)) == ("good",)
    assert scoring.bands_touched(scoring.interval(80.0, 7.0)) == (  # 68.485–91.515
        "needs_improvement", "fair", "good", "excellent")
    top = scoring.interval(97.0, e)
    assert (top.low, top.high) == (pytest.approx(93.052), 100.0)
    assert scoring.interval(3.0, e).low == 0.0
    # no mystery-shop visit: the BDI rests on QA and HL, counted as exact
    assert scoring.bdi_error(12.0, 0, has_qa=True) == 0.0
    exact = scoring.interval(80.0, 0.0)
    assert (exact.low, exact.high) == (80.0, 80.0)
    assert scoring.bands_touched(exact) == ("good",)


def test_reliability_renormalised_ms_weight():
    """Without QA the MS weight is 0.60 / (0.60 + 0.15) = 0.8 of the BDI."""
    assert scoring.bdi_error(12.0, 1, has_qa=False) == pytest.approx(12.0 * 0.8)
    assert scoring.bdi_error(12.0, 1, has_qa=True) == pytest.approx(12.0 * 0.6)


def test_pooled_sigma():
    # fewer than 30 degrees of freedom: σ = 15
    assert scoring.pooled_sigma([[60.0, 80.0], [70.0]]) == 15.0
    # 30 stores of two visits 10 apart: each store adds 2·5² = 50 over 1 degree of freedom
    stores = [[70.0, 80.0]] * 30 + [[55.0]]  # a one-visit store is left out
    assert scoring.pooled_sigma(stores) == pytest.approx(math.sqrt(50.0))
    assert scoring.pooled_variance(60, 30, 1500.0) == pytest.approx(50.0)
    assert scoring.pooled_variance(59, 30, 1500.0) == 225.0


def test_group_interval_and_significance():
    # a region of k = 2 stores, e = 3 and 4: ± 1.645·√(9 + 16)/2 = ± 4.1125
    assert scoring.Z90 * scoring.group_error([3.0, 4.0]) == pytest.approx(4.1125)
    assert scoring.group_error([]) == 0.0
    # |Δ| must exceed 1.645·√(e_now² + e_prev²) = 1.645·5 = 8.225
    assert scoring.change_is_significant(80.0, 71.7, 3.0, 4.0) is True
    assert scoring.change_is_significant(80.0, 71.8, 3.0, 4.0) is False
    assert scoring.change_is_significant(80.0, None, 3.0, 0.0) is None
    # both periods exact (QA and HL only): any change is significant
    assert scoring.change_is_significant(80.0, 79.9, 0.0, 0.0) is True
