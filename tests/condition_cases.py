"""The cases conditions.py and static/js/conditions.js must agree on (tests run both)."""

YES_NO = {"eq": [0]}
SCALE = {"lt": 0}
TEMP = {"outside": [0, 5]}
TIMED = {"ge": 300}


def spec(code, show=None, dim_show=None, fail=None):
    return {"code": code, "show": show, "dim_show": dim_show, "fail": fail}


def when(item, **test):
    return {"when": {"item": item, **test}}


CASES = [
    # (name, items, answers, visit type, kind, expected visible codes)
    ("always", [spec("a"), spec("b")], {}, "walk_in", "mystery", {"a", "b"}),
    ("dine-in only item", [spec("a"), spec("t", {"visit_types": ["dine_in"]})], {},
     "walk_in", "mystery", {"a"}),
    ("dine-in only item, dine-in", [spec("a"), spec("t", {"visit_types": ["dine_in"]})], {},
     "dine_in", "mystery", {"a", "t"}),
    ("dine-in only dimension", [spec("a", dim_show={"visit_types": ["dine_in"]}), spec("b")],
     {}, "drive_thru", "qa", {"b"}),
    ("kinds", [spec("a", {"kinds": ["mystery", "competitor"]}), spec("b", {"kinds": ["qa"]})],
     {}, "walk_in", "competitor", {"a"}),
    ("No → why", [spec("ok", fail=YES_NO), spec("why", when("ok", failed=True))],
     {"ok": {"value": 0}}, "walk_in", "mystery", {"ok", "why"}),
    ("Yes hides why", [spec("ok", fail=YES_NO), spec("why", when("ok", failed=True))],
     {"ok": {"value": "1"}}, "walk_in", "mystery", {"ok"}),
    ("unanswered hides", [spec("ok", fail=YES_NO), spec("why", when("ok", failed=True))],
     {}, "walk_in", "mystery", {"ok"}),
    ("N/A hides", [spec("ok", fail=YES_NO), spec("why", when("ok", failed=True))],
     {"ok": {"value": 0, "na": True}}, "walk_in", "mystery", {"ok"}),
    ("below neutral", [spec("s", fail=SCALE), spec("why", when("s", failed=True))],
     {"s": {"value": "-30"}}, "walk_in", "mystery", {"s", "why"}),
    ("neutral is not below", [spec("s", fail=SCALE), spec("why", when("s", failed=True))],
     {"s": {"value": "0"}}, "walk_in", "mystery", {"s"}),
    ("outside range, above", [spec("t", fail=TEMP), spec("p", when("t", failed=True))],
     {"t": {"value": "5.5"}}, "walk_in", "qa", {"t", "p"}),
    ("on the bound is inside", [spec("t", fail=TEMP), spec("p", when("t", failed=True))],
     {"t": {"value": "5"}}, "walk_in", "qa", {"t"}),
    ("on the bound to 6 decimals", [spec("t", fail=TEMP), spec("p", when("t", failed=True))],
     {"t": {"value": "5.0000001"}}, "walk_in", "qa", {"t"}),
    ("passed", [spec("t", fail=TEMP), spec("p", when("t", passed=True))],
     {"t": {"value": 3}}, "walk_in", "qa", {"t", "p"}),
    ("timed at the limit", [spec("t", fail=TIMED), spec("p", when("t", failed=True))],
     {"t": {"value": 300}}, "walk_in", "mystery", {"t", "p"}),
    ("eq list", [spec("c"), spec("p", when("c", eq=[1, 2]))], {"c": {"value": "2"}},
     "walk_in", "mystery", {"c", "p"}),
    ("eq list, other", [spec("c"), spec("p", when("c", eq=[1, 2]))], {"c": {"value": "0"}},
     "walk_in", "mystery", {"c"}),
    ("lt", [spec("c"), spec("p", when("c", lt=10))], {"c": {"value": "9.5"}},
     "walk_in", "mystery", {"c", "p"}),
    ("gt", [spec("c"), spec("p", when("c", gt=10))], {"c": {"value": "10"}},
     "walk_in", "mystery", {"c"}),
    ("outside test", [spec("c"), spec("p", when("c", outside=[2, 8]))],
     {"c": {"value": "1.9"}}, "walk_in", "mystery", {"c", "p"}),
    ("not a number", [spec("c"), spec("p", when("c", lt=10))], {"c": {"value": "abc"}},
     "walk_in", "mystery", {"c"}),
    ("hex is not a number", [spec("c"), spec("p", when("c", gt=10))],
     {"c": {"value": "0x20"}}, "walk_in", "mystery", {"c"}),
    ("underscore is not a number", [spec("c"), spec("p", when("c", gt=10))],
     {"c": {"value": "1_000"}}, "walk_in", "mystery", {"c"}),
    ("chain: hidden parent hides child",
     [spec("a", fail=YES_NO), spec("b", {**when("a", failed=True), "visit_types": ["dine_in"]},
                                   fail=YES_NO),
      spec("c", when("b", failed=True))],
     {"a": {"value": 0}, "b": {"value": 0}}, "walk_in", "mystery", {"a"}),
    ("chain: shown parent shows child",
     [spec("a", fail=YES_NO), spec("b", when("a", failed=True), fail=YES_NO),
      spec("c", when("b", failed=True))],
     {"a": {"value": 0}, "b": {"value": 0}}, "walk_in", "mystery", {"a", "b", "c"}),
    ("failed without a fail rule", [spec("x"), spec("p", when("x", failed=True))],
     {"x": {"value": 0}}, "walk_in", "mystery", {"x"}),
]
