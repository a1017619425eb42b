"""Issue #17 item 1: the item-type registry and the §9 types (choice, number, text, photo,
info): parsing, scores against SCORING.md §9 including the bounds, failure (§8), display,
export, dispute choices, widget; an unknown type is an error, never another type."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from auditapp import item_types, scoring
from auditapp.item_types import AnswerError, UnknownItemType

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def item(item_type, config=None, targets=None, code="x"):
    return SimpleNamespace(code=code, item_type=item_type, config=config,
                           timed_targets=targets, allow_na=False)


CHOICE = item("choice", {"options": [{"text": "Fresh", "text_zh": "新鲜", "points": 100},
                                     {"text": "Acceptable", "points": 50},
                                     {"text": "Stale", "points": 0}]})
NUMBER = item("number", {"lo": 0, "hi": 5, "unit": "°C"})


# --- scoring.py (pure) -------------------------------------------------------------------


def test_choice_scores_the_options_points():
    points = (100.0, 50.0, 0.0)
    assert [scoring.item_score("choice", i, points=points) for i in (0, 1, 2)] == [100, 50, 0]
    assert scoring.is_failed("choice", 2, points=points)
    assert not scoring.is_failed("choice", 1, points=points)  # 50 points: not fully met
    for bad in (3, -1, 0.5, None, True):
        with pytest.raises(scoring.ScoringError):
            scoring.item_score("choice", bad, points=points)
    with pytest.raises(scoring.ScoringError):
        scoring.item_score("choice", 0, points=(120.0, 0.0))  # points are 0–100


@pytest.mark.parametrize("value, score", [
    (-0.1, 0.0), (0, 100.0), (0.0000001, 100.0), (2.5, 100.0), (5, 100.0),
    (5.0000001, 100.0), (5.000001, 0.0), (5.1, 0.0), (-40, 0.0)])
def test_number_is_100_inside_the_range_bounds_included_else_0(value, score):
    assert scoring.item_score("number", value, lo=0, hi=5) == score
    assert scoring.is_failed("number", value, lo=0, hi=5) is (score == 0)


def test_number_bounds_compare_as_exact_decimals():
    # 0.1 + 0.2 is 0.30000000000000004 in floating point: still on the bound 0.3
    assert scoring.item_score("number", 0.1 + 0.2, lo=0.0, hi=0.3) == 100.0
    with pytest.raises(scoring.ScoringError):
        scoring.item_score("number", 1, lo=5, hi=0)
    with pytest.raises(scoring.ScoringError):
        scoring.item_score("number", 1)


def test_text_photo_info_are_never_in_the_dimension_score():
    answers = [scoring.ItemAnswer("quality", "yesno", 1),
               scoring.ItemAnswer("quality", "text", None),
               scoring.ItemAnswer("quality", "photo", 2),
               scoring.ItemAnswer("quality", "info", None, critical=True)]
    result = scoring.score_visit(answers)
    assert result.dimensions == {"quality": 100.0}
    assert result.item_scores == [100.0, None, None, None]
    assert not any(a.failed for a in answers)
    # a dimension with only unscored items has no S_d (like all N/A)
    only = scoring.score_visit([scoring.ItemAnswer("speed", "text", None),
                                scoring.ItemAnswer("quality", "yesno", 0)])
    assert only.dimensions == {"speed": None, "quality": 0.0} and only.score == 0.0
    for kind in scoring.UNSCORED_TYPES:
        with pytest.raises(scoring.ScoringError):
            scoring.item_score(kind, 1)


def test_a_critical_choice_at_zero_points_zeroes_its_dimension():
    answers = [scoring.ItemAnswer("quality", "choice", 2, critical=True, points=(100, 50, 0)),
               scoring.ItemAnswer("quality", "yesno", 1)]
    assert scoring.score_visit(answers).dimensions["quality"] == 0.0


# --- the registry ------------------------------------------------------------------------


def test_every_type_is_one_registered_class_with_its_widget():
    assert set(item_types.REGISTRY) == set(scoring.ITEM_TYPES)
    for code, kind in item_types.REGISTRY.items():
        assert kind.code == code
        assert (TEMPLATES / kind.widget).is_file(), kind.widget
        assert kind.scored == (code in scoring.SCORED_TYPES)


def test_an_unknown_type_is_an_error_never_another_type():
    with pytest.raises(UnknownItemType):
        item_types.of(item("stars"))


@pytest.mark.parametrize("kind, raw, stored", [
    (item("yesno"), "1", 1.0), (item("scale7"), "-30", -30.0), (item("timed"), "250", 250),
    (CHOICE, "2", 2.0), (NUMBER, "4,5", 4.5), (NUMBER, "-18", -18.0),
    (item("text"), "  Cold fries ", "Cold fries"), (item("photo"), 2, 2.0)])
def test_parse_accepts_what_the_type_takes(app, kind, raw, stored):
    with app.test_request_context():
        assert item_types.of(kind).parse(kind, raw) == stored


@pytest.mark.parametrize("kind, raw, says", [
    (item("yesno"), "2", "yes or no"), (item("scale7"), "10", "seven levels"),
    (item("timed"), "12.5", "whole seconds"), (item("timed"), "4000", "between 0 and"),
    (CHOICE, "3", "one of the options"), (CHOICE, "0.5", "one of the options"),
    (NUMBER, "warm", "Enter a number"), (NUMBER, "1e9", "Enter a number"),
    (item("text"), "   ", "answer this question"), (item("photo"), 0, "Add a photo")])
def test_parse_refuses_with_a_message(app, kind, raw, says):
    with app.test_request_context(), pytest.raises(AnswerError, match=says):
        item_types.of(kind).parse(kind, raw)


def test_scores_and_failures_through_the_registry_follow_scoring_md():
    assert item_types.of(CHOICE).score(CHOICE, "walk_in", 1) == 50.0
    assert item_types.of(CHOICE).failed(CHOICE, "walk_in", 2)
    assert item_types.of(NUMBER).score(NUMBER, "walk_in", 5) == 100.0
    assert item_types.of(NUMBER).failed(NUMBER, "walk_in", 5.5)
    assert item_types.of(item("text")).score(item("text"), "walk_in", "x") is None
    timed = item("timed", targets={"walk_in": [120, 300]})
    assert not item_types.of(timed).failed(timed, "walk_in", 299)  # below target, not failed
    assert item_types.of(timed).failed(timed, "walk_in", 300)


@pytest.mark.parametrize("kind", [item("yesno"), item("scale7"),
                                  item("timed", targets={"walk_in": [120, 300]}), CHOICE,
                                  NUMBER])
def test_the_fail_rule_the_conditions_use_agrees_with_scoring(kind):
    """``fail_rule`` (data, mirrored in conditions.js) is ``scoring.is_failed``."""
    from auditapp.conditions import matches

    registered = item_types.of(kind)
    rule = registered.fail_rule(kind, "walk_in")
    for value in (-90, -30, -1, 0, 0.5, 1, 2, 3, 5, 5.01, 30, 60, 90, 120, 299, 300, 301):
        try:
            expected = registered.failed(kind, "walk_in", value)
        except scoring.ScoringError:
            continue  # not a value this type takes
        assert matches({"failed": True}, value, rule) is expected, (kind.item_type, value)


def test_display_export_and_dispute_choices_per_type(app):
    with app.test_request_context():
        answer = SimpleNamespace(value=0.0, text="", na=False, voided=False)
        assert item_types.answer_text(CHOICE, answer, "walk_in") == "Fresh"
        assert item_types.answer_text(CHOICE, answer, "walk_in", detail=True) \
            == "Fresh (100 points)"
        assert item_types.of(CHOICE).export_cell(CHOICE, 2.0) == "Stale"
        assert item_types.of(CHOICE).dispute_choices(CHOICE) \
            == [("0", "Fresh"), ("1", "Acceptable"), ("2", "Stale")]
        answer.value = 7.5
        assert item_types.answer_text(NUMBER, answer, "walk_in") == "7.5 °C"
        assert item_types.answer_text(NUMBER, answer, "walk_in", detail=True) \
            == "7.5 °C (range 0 to 5)"
        assert item_types.of(NUMBER).export_cell(NUMBER, 7.5) == 7.5
        assert item_types.of(NUMBER).dispute_choices(NUMBER) == []  # a free number
        text = SimpleNamespace(value=None, text="Cold fries", na=False, voided=False)
        assert item_types.answer_text(item("text"), text, "walk_in") == "Cold fries"
        assert item_types.of(item("text")).export_cell(item("text"), None, "Cold fries") \
            == "Cold fries"
        photo = SimpleNamespace(value=2.0, text="", na=False, voided=False)
        assert item_types.answer_text(item("photo"), photo, "walk_in") == "2 photos"
        assert item_types.answer_text(item("yesno"), None, "walk_in") == "Not answered"


def test_display_in_chinese(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import refresh

        refresh()
        answer = SimpleNamespace(value=0.0, text="", na=False, voided=False)
        assert item_types.answer_text(CHOICE, answer, "walk_in") == "新鲜"


def test_demo_values_are_answers_the_type_accepts(app):
    rng = random.Random(3)
    with app.test_request_context():
        for kind in (item("yesno"), item("scale7"), item("timed"), CHOICE, NUMBER,
                     item("text")):
            registered = item_types.of(kind)
            for quality in (0.1, 0.5, 0.95):
                value = registered.demo_value(kind, "walk_in", quality, rng)
                assert registered.parse(kind, value) == value


def test_config_problems_before_publishing(app):
    with app.test_request_context():
        one = item("choice", {"options": [{"text": "Only", "points": 100}]})
        assert "at least two options" in item_types.of(one).config_problems(one)[0]
        bad = item("choice", {"options": [{"text": "A", "points": 150}, {"text": "", "points": 0}]})
        problems = item_types.of(bad).config_problems(bad)
        assert any("from 0 to 100" in p for p in problems)
        assert any("option's text" in p for p in problems)
        assert item_types.of(NUMBER).config_problems(NUMBER) == []
        upside = item("number", {"lo": 5, "hi": 0})
        assert "at least the low bound" in item_types.of(upside).config_problems(upside)[0]
