/* The audit form: steps, timer, autosave (server + this phone), the submission. What waits
   for the network goes through the outbox (outbox.js); photos are photos.js's. */
(function () {
  "use strict";
  var form = document.getElementById("audit-form");
  var checkin = document.getElementById("checkin-form");
  if (!form) return;
  document.documentElement.classList.add("js");
  var D = form.dataset, T = document.getElementById("i18n").dataset;
  var KEY = "auditapp.v" + D.visit, PKEY = "auditapp.pos" + D.visit;
  var ctx = window.Outbox ? Outbox.ctx(form) : null;
  var meta = document.querySelector("meta[name=csrf-token]");
  var stateEl = document.getElementById("save-state");
  var steps = [].slice.call(form.querySelectorAll(".step")), cur = 0;
  var bar = form.querySelector(".formbar");

  function fmt(s, o) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return o[k]; }); }
  function headers(json) {
    var h = {};
    if (json) h["Content-Type"] = "application/json";
    if (meta) h["X-CSRFToken"] = meta.content;
    if (D.token) h.Authorization = "Bearer " + D.token;
    return h;
  }
  function api(path, method, body) {
    return fetch(D.api + path, { method: method, headers: headers(true), credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined });
  }
  function say(text, cls) { stateEl.textContent = text; stateEl.className = "save-state " + (cls || ""); }
  function load(k) { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } }
  function store(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* full */ } }

  /* ---- reading and restoring the form ---- */
  function collect() {
    var answers = {}, facts = {};
    form.querySelectorAll("fieldset[data-item]").forEach(function (fs) {
      var id = fs.dataset.item, a = { value: null, na: false, comment: "" };
      var r = fs.querySelector("input[type=radio]:checked");
      var n = fs.querySelector("[name=v_" + id + "]:not([type=radio])");
      var na = fs.querySelector("input[name=na_" + id + "]"), c = fs.querySelector("textarea[name=c_" + id + "]");
      if (r) { if (r.value === "na") a.na = true; else a.value = Number(r.value); }
      /* numbers as numbers; free text (and a number typed as "4,5") as typed */
      if (n && n.value !== "") a.value = n.value.trim() !== "" && isFinite(Number(n.value)) && fs.dataset.type !== "text" ? Number(n.value) : n.value;
      if (na && na.checked) a.na = true;
      a.comment = c ? c.value : "";
      answers[id] = a;
    });
    ["visit_date", "arrival_time", "order_description", "receipt_total", "overall_comment", "loyalty"]
      .forEach(function (k) { if (form.elements[k]) facts[k] = form.elements[k].value; });
    var c = form.querySelector("input[name=visit_type_confirmed]:checked");
    facts.visit_type_confirmed = c ? c.value === "1" : null;
    var out = { answers: answers, facts: facts };
    /* parts of the form that are not questionnaire items (scenario.js) add theirs */
    (window.auditFormParts || []).forEach(function (part) { part.collect(out); });
    return out;
  }
  function apply(p) {
    Object.keys(p.answers || {}).forEach(function (id) {
      var a = p.answers[id], fs = document.getElementById("item-" + id);
      if (!fs) return;
      var v = a.na ? "na" : (a.value === null || a.value === undefined ? "" : String(a.value));
      fs.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = r.value === v; });
      var n = fs.querySelector("[name=v_" + id + "]:not([type=radio])");
      if (n) { n.value = a.na ? "" : v; if (n.matches("input.secs")) showClock(n); }
      var na = fs.querySelector("input[name=na_" + id + "]"); if (na) na.checked = !!a.na;
      var c = fs.querySelector("textarea[name=c_" + id + "]"); if (c) c.value = a.comment || "";
    });
    var f = p.facts || {};
    ["visit_date", "arrival_time", "order_description", "receipt_total", "overall_comment", "loyalty"]
      .forEach(function (k) { if (f[k] !== undefined && f[k] !== null && form.elements[k]) form.elements[k].value = f[k]; });
    form.querySelectorAll("input[name=visit_type_confirmed]").forEach(function (r) {
      r.checked = f.visit_type_confirmed === (r.value === "1");
    });
    (window.auditFormParts || []).forEach(function (part) { part.apply(p); });
  }

  /* ---- paradata for head office: timer starts/stops and time per step, with this
     phone's time (the server stamps when it receives them); in the outbox until sent ---- */
  function track(ev, later) {
    ev.at = new Date().toISOString();
    if (ctx) Outbox.event(ctx, ev).then(function () { if (!later) drain(); });
  }
  function drain() {
    return ctx && navigator.onLine ? Outbox.drain({ user: ctx.user, csrf: ctx.csrf }) : Promise.resolve();
  }

  /* opened from the phone's copy: the server learns it (and when) once online */
  if (!navigator.onLine) track({ kind: "opened" }, true);

  /* ---- steps ---- */
  var stepSince = Date.now();
  function show(i) {
    var next = Math.max(0, Math.min(steps.length - 1, i));
    if (next !== cur) {
      track({ kind: "step", step: cur, seconds: Math.round((Date.now() - stepSince) / 100) / 10 });
      stepSince = Date.now();
    }
    cur = next;
    steps.forEach(function (s, j) { s.classList.toggle("current", j === cur); });
    document.getElementById("progress-bar").style.width = ((cur + 1) / steps.length * 100) + "%";
    document.getElementById("step-count").textContent =
      fmt(T.step, { n: cur + 1, total: steps.length }) + " · " + steps[cur].dataset.title;
    bar.classList.toggle("first", cur === 0);
    bar.classList.toggle("last", cur === steps.length - 1);
    remember();
  }
  /* where the shopper is (step and scroll), to come back there after a reload */
  function remember() { store(PKEY, { step: cur, y: Math.round(window.scrollY) }); }
  var rt = null;
  window.addEventListener("scroll", function () { clearTimeout(rt); rt = setTimeout(remember, 300); });
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  /* focus goes where the shopper goes next: a new step's title, an error, a control */
  function focusOn(el) { if (el) el.focus({ preventScroll: true }); }
  function focusStep() {
    window.scrollTo(0, 0); focusOn(steps[cur].querySelector(".step-title"));
  }
  document.getElementById("next-btn").addEventListener("click", function () { show(cur + 1); focusStep(); });
  document.getElementById("prev-btn").addEventListener("click", function () { show(cur - 1); focusStep(); });
  function gotoEl(el) {
    var s = el.closest(".step"); if (s) show(steps.indexOf(s));
    el.scrollIntoView({ block: "center" });
  }
  function firstControl(el) {
    return el.matches("input, select, textarea") ? el : el.querySelector(
      "input:not([type=hidden]):not([disabled]), select, textarea, button:not([disabled])");
  }
  /* the error summary's links open the question's step and focus its first control */
  document.addEventListener("click", function (e) {
    var a = e.target.closest("#error-summary a[href^='#']");
    var el = a && document.getElementById(a.getAttribute("href").slice(1));
    if (!el) return;
    e.preventDefault(); gotoEl(el); focusOn(firstControl(el));
  });
  /* Enter in a field does not send the form (its default button would save a draft) */
  form.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Enter" && t.tagName === "INPUT" && ["submit", "button", "file"].indexOf(t.type) < 0) {
      e.preventDefault();
    }
  });
  var firstErr = form.querySelector(".has-error"), summary = document.getElementById("error-summary");
  steps.forEach(function (st, j) { st.id = st.id || "step-" + j; });
  var pos = load(PKEY);
  show(0);
  if (firstErr) gotoEl(firstErr);
  else if (pos) { show(pos.step); window.scrollTo(0, pos.y); }
  if (summary) { listSteps(summary, [].slice.call(form.querySelectorAll(".has-error"))); summary.scrollIntoView(); focusOn(summary); }

  /* ---- timers ---- */
  function showClock(input) {
    var t = input.closest("[data-timer]"), s = Math.max(0, Math.round(Number(input.value) || 0));
    t.querySelector(".clock").textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }
  form.querySelectorAll("[data-timer]").forEach(function (t) {
    var input = t.querySelector("input.secs"), start = t.querySelector("[data-start]"),
      stop = t.querySelector("[data-stop]"), t0 = 0, tick = null, base = 0,
      status = t.querySelector("[data-timer-status]");
    showClock(input);
    input.addEventListener("input", function () { showClock(input); });
    var item = Number(t.closest("fieldset[data-item]").dataset.item);
    start.addEventListener("click", function () {
      base = 0; t0 = Date.now(); start.disabled = true; stop.disabled = false;
      track({ kind: "timer_start", item_id: item });
      t.classList.add("running"); status.textContent = T.timerRunning; focusOn(stop);
      tick = setInterval(function () { input.value = Math.round((Date.now() - t0) / 1000) + base; showClock(input); }, 250);
    });
    stop.addEventListener("click", function () {
      clearInterval(tick); input.value = Math.round((Date.now() - t0) / 1000) + base;
      track({ kind: "timer_stop", item_id: item, seconds: Number(input.value) });
      showClock(input); start.disabled = false; stop.disabled = true; t.classList.remove("running");
      status.textContent = fmt(T.timerRecorded, { n: input.value }); focusOn(start);
      changed();
    });
  });

  /* ---- autosave ---- */
  var local = load(KEY);
  if (local && local.state && (!D.savedAt || local.at > D.savedAt) && !firstErr) apply(local.state);
  var timer = null;
  function changed() {
    store(KEY, { at: new Date().toISOString().slice(0, 19), state: collect() });
    if (!navigator.onLine) { say(T.savedLocal, "saved"); queueDraft(); return; }
    clearTimeout(timer);
    timer = setTimeout(saveDraft, 800);
  }
  function saveDraft() {
    say(T.saving);
    api("/draft", "PUT", collect()).then(function (r) {
      if (r.status === 400 || r.status === 413) {  /* refused: say why (kept on this phone) */
        return r.json().then(function (j) {
          var why = Object.keys(j.errors || {}).map(function (k) { return j.errors[k]; });
          say(why[0] || j.message, "queued");
        });
      }
      if (!r.ok) throw new Error(r.status);
      return r.json().then(function (j) {
        var l = load(KEY); if (l) { l.at = j.saved_at; store(KEY, l); }
        say(T.saved, "saved"); started();
      });
    }).catch(function () { say(T.savedLocal, "saved"); queueDraft(); });
  }
  function queueDraft() { if (ctx) Outbox.draft(ctx, collect()); }
  form.addEventListener("input", function (e) { if (e.target.type !== "file") changed(); });
  form.addEventListener("change", function (e) { if (e.target.type !== "file") changed(); });

  function started() {
    var pill = document.getElementById("status-pill");
    if (pill && pill.classList.contains("status-assigned")) {
      pill.className = "pill status-in_progress"; pill.textContent = T.inProgress;
    }
  }

  /* ---- check-in ---- */
  if (checkin) checkin.addEventListener("submit", function (e) {
    e.preventDefault();
    var btn = document.getElementById("checkin-btn"); btn.disabled = true;
    function send(pos) {
      var body = { consent: !!pos };
      if (pos) {
        body.latitude = pos.coords.latitude; body.longitude = pos.coords.longitude;
        body.accuracy = pos.coords.accuracy;
      }
      function done() { checkin.hidden = true; focusStep(); }
      api("/checkin", "POST", body).then(function () { done(); started(); }).catch(function () {
        if (ctx) Outbox.checkin(ctx, body);  /* sent with the rest once online */
        done();
      });
    }
    if (document.getElementById("share-location").checked && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(send, function () { send(null); },
        { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    } else send(null);
  });

  /* ---- the submission (through the outbox: sent once its photos are there) ---- */
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  /* one error pattern (as the server draws it): the field is aria-invalid and described by
     its error; the summary above the form names each question and links to it */
  function invalidTarget(el) { return el.matches("fieldset") ? el : firstControl(el); }
  function clearErrors() {
    form.querySelectorAll(".has-error").forEach(function (el) {
      el.classList.remove("has-error");
      var t = invalidTarget(el);
      if (t) { t.removeAttribute("aria-invalid"); t.removeAttribute("aria-describedby"); }
    });
    form.querySelectorAll(".error[id^='err-']").forEach(function (el) { el.remove(); });
    if (summary) summary.remove();
  }
  /* the summary also names every step that needs a fix, each a link to it */
  function listSteps(box, els) {
    var seen = [], p = document.createElement("p");
    els.forEach(function (el) { var st = el.closest(".step"); if (st && seen.indexOf(st) < 0) seen.push(st); });
    if (!seen.length) return;
    p.className = "fix-steps"; p.textContent = T.stepsFix + " ";
    seen.forEach(function (st, j) {
      var a = document.createElement("a"); a.href = "#" + st.id;
      a.textContent = fmt(T.step, { n: steps.indexOf(st) + 1, total: steps.length }) + " · " + st.dataset.title;
      if (j) p.appendChild(document.createTextNode(", "));
      p.appendChild(a);
    });
    box.insertBefore(p, box.children[1] || null);
  }
  function showErrors(errors) {
    clearErrors();
    var els = [], list = document.createElement("ul");
    Object.keys(errors).forEach(function (k) {
      var el = document.getElementById("f-" + k) || document.getElementById(k);
      if (!el) return;
      el.classList.add("has-error"); el.dataset.err = k;
      var p = document.createElement("p"); p.className = "error"; p.id = "err-" + k;
      p.textContent = errors[k];
      var after = el.querySelector(".seg, .scale, .timer, input, textarea");
      if (after && after.parentNode === el) after.insertAdjacentElement("afterend", p); else el.appendChild(p);
      var t = invalidTarget(el);
      if (t) { t.setAttribute("aria-invalid", "true"); t.setAttribute("aria-describedby", p.id); }
      els.push(el);
    });
    if (!els.length) return;
    /* in the order of the form, whatever the server's order: the first error opens */
    els.sort(function (a, b) { return a.compareDocumentPosition(b) & 4 ? -1 : 1; });
    els.forEach(function (el) {
      var name = el.querySelector("legend, label"), li = document.createElement("li"),
        a = document.createElement("a");
      a.href = "#" + el.id;
      a.textContent = (name ? name.textContent.trim() + ": " : "") + errors[el.dataset.err];
      li.appendChild(a); list.appendChild(li);
    });
    summary = document.createElement("div");
    summary.className = "flash flash-error error-summary"; summary.id = "error-summary";
    summary.tabIndex = -1; summary.setAttribute("role", "alert");
    var lead = document.createElement("p"); lead.textContent = T.fix;
    summary.appendChild(lead); summary.appendChild(list); listSteps(summary, els);
    form.parentNode.insertBefore(summary, form);
    gotoEl(els[0]); summary.scrollIntoView(); focusOn(summary);
  }
  var btn = document.getElementById("submit-btn");
  /* what the outbox did with this visit (here or on another page) */
  function heard(m) {
    if (!m || m.visit !== D.visit) return;
    if (m.what === "sent") {
      localStorage.removeItem(KEY); localStorage.removeItem(PKEY);
      say(T.sent, "sent"); window.location.assign(D.done);
    } else if (m.what === "refused") {
      Outbox.ops(D.visit).then(function (l) {
        l.forEach(function (o) { if (o.kind === "submit" && o.state) Outbox.del(o.id); });
      });
      say(T.fix, "queued"); showErrors(m.errors || {}); btn.disabled = false;
    }
  }
  if (ctx) {
    Outbox.on(heard);
    /* a report queued by an older version of this page (localStorage) moves to the outbox */
    var old = load("auditapp.queue") || {};
    if (old[D.visit]) { Outbox.submit(ctx, old[D.visit].payload); delete old[D.visit]; store("auditapp.queue", old); }
    Outbox.ops(D.visit).then(function (l) {
      l.forEach(function (o) {
        if (o.kind === "checkin" && checkin) checkin.hidden = true;  /* started, offline */
        if (o.kind !== "submit") return;
        if (o.state) heard({ visit: D.visit, what: "refused", errors: o.errors });
        else { say(T.queued, "queued"); form.elements.client_submission_id.value = o.payload.client_submission_id; }
      });
    });
  }
  form.addEventListener("submit", function (e) {
    var action = e.submitter ? e.submitter.value : "submit";
    if (action !== "submit" || !ctx) return;  /* (without IndexedDB: the plain POST) */
    e.preventDefault();
    var payload = collect();
    /* the photos already on the server that the report comes with; those still on the
       phone are added as they arrive, and the report waits for them */
    payload.photo_ids = [].map.call(form.querySelectorAll(".thumbs li[data-photo-id]"),
      function (li) { return Number(li.dataset.photoId); });
    payload.client_submission_id = uid();  /* (a queued report keeps its first id) */
    store(KEY, { at: new Date().toISOString().slice(0, 19), state: payload });
    btn.disabled = true;
    track({ kind: "step", step: cur, seconds: Math.round((Date.now() - stepSince) / 100) / 10 }, true);
    stepSince = Date.now();
    /* (after the photos still being shrunk: the outbox sends them first) */
    (window.AuditPhotos ? AuditPhotos.ready() : Promise.resolve()).then(function () {
      return Outbox.submit(ctx, payload);
    }).then(function () {
      say(navigator.onLine ? T.sending : T.queued, "queued");
      return drain();
    }).then(function (ok) { if (!ok) say(T.queued, "queued"); });  /* (no answer: later) */
  });
})();
