/* Scenario shops (issue #24): the "Complaint handling" section's answers go in the payload's
   `scenario` object (drafts, the offline copy and the JSON submit). shopper.js calls
   collect/apply of every part in window.auditFormParts. */
(function () {
  "use strict";
  var form = document.getElementById("audit-form");
  if (!form || !document.getElementById("step-scenario")) return;
  function checked(name) {
    var r = form.querySelector("input[name=" + name + "]:checked");
    return r ? r.value : null;
  }
  var part = {
    collect: function (out) {
      var steps = {};
      for (var n = 1; n <= 5; n++) {
        var v = checked("sc_" + n);
        steps[n] = v === null ? null : v === "1";
      }
      var h = checked("sc_handling");
      out.scenario = { steps: steps, handling: h === null ? null : Number(h),
        comment: form.elements.sc_comment.value };
    },
    apply: function (p) {
      var s = p && p.scenario;
      if (!s) return;
      var steps = s.steps || {};
      for (var n = 1; n <= 5; n++) {
        var v = steps[n] === true ? "1" : steps[n] === false ? "0" : "";
        form.querySelectorAll("input[name=sc_" + n + "]").forEach(function (r) { r.checked = r.value === v; });
      }
      var h = s.handling === null || s.handling === undefined ? "" : String(s.handling);
      form.querySelectorAll("input[name=sc_handling]").forEach(function (r) { r.checked = r.value === h; });
      form.elements.sc_comment.value = s.comment || "";
    }
  };
  (window.auditFormParts = window.auditFormParts || []).push(part);
})();
