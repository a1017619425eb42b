/* When a question is asked: a line-by-line mirror of auditapp/conditions.py (change both
   together; tests/test_conditions_browser.py runs the same cases through both). Hidden
   questions are not asked and not scored; the server applies the same rule on submit. */
(function (root) {
  "use strict";
  var TESTS = ["failed", "passed", "eq", "lt", "gt", "ge", "outside"];

  function num(raw) {
    if (raw === null || raw === undefined || raw === "" || typeof raw === "boolean") return null;
    if (typeof raw === "string" && (/^\s*[+-]?0[xXbBoO]/.test(raw) || raw.indexOf("_") >= 0)) return null;
    var x = Number(raw);
    /* compared as exact decimals, as scoring does (SCORING.md §7a) */
    return isFinite(x) ? Math.round(x * 1e6) / 1e6 : null;
  }

  function matches(test, value, failRule) {
    var x = num(value);
    if (x === null || !test) return false;
    if (test.failed) return matches(failRule, x);
    if (test.passed) return !!failRule && !matches(failRule, x);
    if ("eq" in test) return (test.eq || []).some(function (v) { return num(v) === x; });
    if ("lt" in test) return num(test.lt) !== null && x < num(test.lt);
    if ("gt" in test) return num(test.gt) !== null && x > num(test.gt);
    if ("ge" in test) return num(test.ge) !== null && x >= num(test.ge);
    if ("outside" in test) {
      var r = (test.outside || []).concat([null, null]), lo = num(r[0]), hi = num(r[1]);
      return lo !== null && hi !== null && (x < lo || x > hi);
    }
    return false;
  }

  function applies(condition, visitType, kind) {
    if (!condition) return true;
    var types = condition.visit_types || [], kinds = condition.kinds || [];
    return (!types.length || types.indexOf(visitType) >= 0) &&
      (!kinds.length || kinds.indexOf(kind) >= 0);
  }

  /* items: [{code, show, dim_show, fail}] in questionnaire order; answers: code → {value, na}.
     Returns {code: true} for the items asked. */
  function visible(items, answers, visitType, kind) {
    var shown = {}, byCode = {};
    items.forEach(function (item) {
      var code = item.code;
      byCode[code] = item;
      var show = item.show || {};
      if (!applies(item.dim_show, visitType, kind) || !applies(show, visitType, kind)) return;
      var when = show.when;
      if (when) {
        var ref = when.item, answer = answers[ref] || {};
        if (!shown[ref] || answer.na || !matches(when, answer.value, byCode[ref].fail)) return;
      }
      shown[code] = true;
    });
    return shown;
  }

  root.AuditConditions = { TESTS: TESTS, num: num, matches: matches, applies: applies,
                           visible: visible };

  /* ---- the phone form: hide and show questions as answers change ---- */
  var data = document.getElementById("conditions-data");
  var form = document.getElementById("audit-form");
  if (!data || !form) return;
  var spec = JSON.parse(data.textContent);
  function answers() {
    var out = {};
    form.querySelectorAll("fieldset[data-code]").forEach(function (fs) {
      var id = fs.dataset.item || fs.dataset.info, a = { value: null, na: false };
      var r = fs.querySelector("input[type=radio]:checked");
      var n = fs.querySelector("[name=v_" + id + "]:not([type=radio])");
      var na = fs.querySelector("input[name=na_" + id + "]");
      if (r) { if (r.value === "na") a.na = true; else a.value = r.value; }
      if (n && n.value !== "") a.value = n.value;
      if (na && na.checked) a.na = true;
      out[fs.dataset.code] = a;
    });
    return out;
  }
  function sync() {
    var shown = visible(spec.items, answers(), spec.visit_type, spec.kind);
    spec.items.forEach(function (item) {
      var fs = form.querySelector('fieldset[data-code="' + item.code + '"]');
      if (fs) fs.hidden = !shown[item.code];
    });
  }
  form.addEventListener("change", sync);
  form.addEventListener("input", sync);
  sync();
})(window);
