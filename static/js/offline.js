/* On every page of a shopper (and on a form opened from a link): registers the service
   worker, sends the outbox (outbox.js) whenever the phone is online, has the worker keep the
   list and every open assignment's form, marks on the list what is waiting to be sent and
   when it was sent, and forgets the stored pages at logout. */
(function () {
  "use strict";
  var me = document.getElementById("offline-js"), T = me.dataset, sw = navigator.serviceWorker;
  if (!window.indexedDB || !window.Outbox) return;
  function csrf() { var m = document.querySelector("meta[name=csrf-token]"); return m ? m.content : ""; }
  function drain() { if (navigator.onLine) return Outbox.drain({ user: T.user, csrf: csrf() }).then(mark); }
  window.addEventListener("online", drain);
  setInterval(drain, 5000);
  Outbox.on(function () { mark(); });
  if (sw && T.worker) {
    sw.register(T.worker, { scope: "/shopper/" }).catch(function () {});
    sw.ready.then(function (reg) {
      var links = document.querySelectorAll(".assignment.is-open [data-visit-url]");
      if (document.querySelector(".assignments") && navigator.onLine && reg.active) {
        reg.active.postMessage({ type: "precache", urls: [].map.call(links, function (a) { return a.dataset.visitUrl; }) });
      }
      Outbox.on(function (m) {  /* Background Sync, where the browser has it */
        if (m.what === "queued" && reg.sync) reg.sync.register("outbox").catch(function () {});
      });
    });
  }
  /* logging out: the stored pages go (what is queued stays, sent after the next login) */
  var out = document.querySelector("form[action$='/auth/logout']");
  if (out) out.addEventListener("submit", function () {
    if (sw && sw.controller) sw.controller.postMessage({ type: "forget" });
    if (window.caches) caches.delete("auditapp-shopper-v3");
  });
  /* the list: "Waiting to send" / "Sent …" on each assignment */
  function mark() {
    var cards = document.querySelectorAll(".assignment[data-visit]");
    if (!cards.length) return;
    Promise.all([Outbox.ops(), Outbox.sent()]).then(function (r) {
      var q = {}, s = {};
      r[0].forEach(function (o) { if (o.kind !== "photo" || o.state !== "sent") q[o.visit] = o.state === "failed" || o.state === "refused" ? "fix" : "wait"; });
      r[1].forEach(function (x) { s[x.visit] = x.at; });
      cards.forEach(function (c) {
        var v = c.dataset.visit, el = c.querySelector(".outbox-state");
        if (!el) { el = document.createElement("span"); el.className = "small outbox-state"; c.querySelector(".tags").appendChild(el); }
        el.className = "small outbox-state" + (q[v] ? " pill queued" : "");
        var pill = c.querySelector(".status-assigned, .status-in_progress");
        if (s[v] && !q[v] && pill) { pill.className = "pill status-submitted"; pill.textContent = T.submitted; }
        el.textContent = q[v] === "fix" ? T.fix : q[v] ? T.waiting : s[v] ? T.sent.replace("%(when)s",
          new Date(s[v]).toLocaleString(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" })) : "";
      });
    });
  }
  mark();
  drain();
})();
