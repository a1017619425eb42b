/* The outbox: what a shopper did without network (draft, timer/step events, photos, photo
   removals, the submission), kept in IndexedDB until the server has it. Shared by the pages
   and the service worker (Background Sync). drain() sends each visit's ops in order: draft,
   events, removals, photos, and the submission last, once every photo has arrived. */
var Outbox = (function () {
  "use strict";
  var dbp, draining = null, hear = [], bc = self.BroadcastChannel ? new BroadcastChannel("outbox") : null;
  function open() {
    return dbp || (dbp = new Promise(function (ok, ko) {
      var r = indexedDB.open("auditapp-outbox", 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore("ops", { keyPath: "id", autoIncrement: true });
        r.result.createObjectStore("sent", { keyPath: "visit" });
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { ko(r.error); };
    }));
  }
  function tx(store, fn) {
    return open().then(function (d) {
      return new Promise(function (ok, ko) {
        var t = d.transaction(store, "readwrite"), r = fn(t.objectStore(store));
        t.oncomplete = function () { ok(r && r.result); };
        t.onerror = t.onabort = function () { ko(t.error); };
      });
    });
  }
  function all(store) { return tx(store, function (s) { return s.getAll(); }); }
  function put(op) { return tx("ops", function (s) { return s.put(op); }); }
  function del(id) { return tx("ops", function (s) { return s.delete(id); }); }
  function now() { return new Date().toISOString(); }
  function ops(visit) {
    return all("ops").then(function (l) {
      return visit ? l.filter(function (o) { return o.visit === String(visit); }) : l;
    });
  }
  function tell(m) { hear.forEach(function (f) { f(m); }); if (bc) bc.postMessage(m); }
  if (bc) bc.onmessage = function (e) { hear.forEach(function (f) { f(e.data); }); };
  /* what the page knows about its visit and user */
  function ctx(form) {
    var m = document.querySelector("meta[name=csrf-token]"), D = form.dataset;
    return { visit: D.visit, api: D.api, token: D.token || "", user: user(), csrf: m ? m.content : "" };
  }
  function user() { var s = document.getElementById("offline-js"); return s ? s.dataset.user : ""; }
  function add(c, kind, o) {
    o.kind = kind; o.at = now(); o.waited = !navigator.onLine;
    ["visit", "api", "token", "user", "csrf"].forEach(function (k) { o[k] = String(c[k] || ""); });
    return put(o).then(function (id) { tell({ visit: o.visit, what: "queued" }); return id; });
  }
  function replace(c, kind, o) {
    return ops(c.visit).then(function (l) {
      return Promise.all(l.filter(function (x) { return x.kind === kind; })
        .map(function (x) { if (kind === "submit") o.payload.client_submission_id = x.payload.client_submission_id; return del(x.id); }));
    }).then(function () { return add(c, kind, o); });
  }
  function send(o, path, method, body, csrf) {
    /* what waited (made offline, or out more than 5 s later) says since when */
    var h = o.waited || Date.now() - Date.parse(o.at) > 5000 ? { "X-Queued-At": o.at } : {};
    if (!(body instanceof FormData)) { h["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    if (o.token) h.Authorization = "Bearer " + o.token; else h["X-CSRFToken"] = csrf || o.csrf;
    return fetch(o.api + path, { method: method, headers: h, credentials: "same-origin", body: body })
      .then(function (r) {
        if (r.status >= 500 || r.status === 401 || r.status === 429) throw new Error(r.status);
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (j.code === "csrf_expired") throw new Error("csrf");  /* kept for a fresh page */
          return [r.status, j];
        });
      });
  }
  /* one step of one visit, in order; "idle" when nothing is left to do, "stuck" when the
     network or the server is not there */
  var ORDER = { checkin: 0, draft: 1, photo_delete: 2, photo: 3 };
  function drainVisit(l, opt) {
    var gone = function (s) { return s === 404 && (l[0].token || opt.user === l[0].user); };
    var keep = function (r) { return r[0] === 404 && !gone(404); };
    var ev = l.filter(function (o) { return o.kind === "event"; }).slice(0, 100);
    var sub = l.filter(function (x) { return x.kind === "submit" && !x.state; })[0];
    var todo = l.filter(function (o) { return o.kind in ORDER && !o.state || o.state === "pending"; })
      .sort(function (a, b) { return ORDER[a.kind] - ORDER[b.kind]; }), o = todo[0];
    if (ev.length) {
      return send(ev[0], "/events", "POST", { events: ev.map(function (x) { return x.ev; }) }, opt.csrf)
        .then(function (r) { return keep(r) ? "stuck" : Promise.all(ev.map(function (x) { return del(x.id); })); });
    }
    if (o && o.kind === "checkin") {
      return send(o, "/checkin", "POST", o.body, opt.csrf).then(function (r) { return keep(r) ? "stuck" : del(o.id); });
    }
    if (o && o.kind === "draft") {
      if (sub) return del(o.id);  /* the submission carries the answers */
      return send(o, "/draft", "PUT", o.body, opt.csrf).then(function (r) { return keep(r) ? "stuck" : del(o.id); });
    }
    if (o && o.kind === "photo_delete") {
      return send(o, "/photos/" + o.photo_id, "DELETE", {}, opt.csrf).then(function (r) {
        return keep(r) && r[1].code !== "no_photo" ? "stuck" : del(o.id);
      });
    }
    if (o) {
      var fd = new FormData();  /* every field queued with the photo (category, item…) */
      Object.keys(o.fields || {}).forEach(function (k) { fd.append(k, o.fields[k]); });
      fd.append("photo", o.blob, o.name || "photo.jpg");
      return send(o, "/photos", "POST", fd, opt.csrf).then(function (r) {
        if (keep(r)) return "stuck";
        if (r[0] === 201) { o.state = "sent"; o.photo_id = r[1].id; o.sent_at = now(); return put(o); }
        if (r[0] === 409 || r[0] === 404) return del(o.id);
        o.state = "failed"; o.error = r[1].message || String(r[0]); return put(o);
      }).then(function (v) { tell({ visit: l[0].visit, what: "photo" }); return v; });
    }
    if (!sub || l.some(function (x) { return x.state === "failed"; })) return Promise.resolve("idle");
    var p = JSON.parse(JSON.stringify(sub.payload));
    p.photo_ids = (p.photo_ids || []).concat(l.filter(function (x) { return x.kind === "photo"; })
      .map(function (x) { return x.photo_id; }));
    return send(sub, "/submit", "POST", p, opt.csrf).then(function (r) {
      if (keep(r) || r[1].code === "photos_missing") return "stuck";
      if (r[0] === 422 || r[0] === 400) {
        sub.state = "refused"; sub.errors = r[1].errors || {}; sub.message = r[1].message;
        return put(sub).then(function () { tell({ visit: sub.visit, what: "refused", errors: sub.errors }); });
      }
      return Promise.all(l.map(function (x) { return del(x.id); })).then(function () {
        var s = { visit: sub.visit, at: now(), submitted_at: r[1].submitted_at || null };
        return tx("sent", function (st) { return st.put(s); });
      }).then(function () { tell({ visit: sub.visit, what: "sent", ok: r[0] === 200 }); });
    });
  }
  /* send everything this page (or the worker) may send; resolves true when all is out */
  function drain(opt) {
    opt = opt || {};
    if (draining) return draining;
    function round(n) {
      return ops().then(function (l) {
        var by = {};
        l.forEach(function (o) {
          if (opt.user === undefined || o.token || o.user === opt.user) (by[o.visit] = by[o.visit] || []).push(o);
        });
        var ks = Object.keys(by);
        if (!ks.length || n > 400) return true;
        return Promise.all(ks.map(function (k) {
          return drainVisit(by[k], opt).catch(function () { return "stuck"; });
        })).then(function (rs) {
          return rs.every(function (x) { return x === "idle" || x === "stuck"; })
            ? rs.indexOf("stuck") < 0 : round(n + 1);
        });
      });
    }
    /* one drain at a time across the pages, tabs and the worker (else a photo could be
       sent twice): a Web Lock where the browser has them */
    var locks = self.navigator && navigator.locks;
    draining = (locks ? locks.request("auditapp-outbox", function () { return round(0); }) : round(0))
      .then(function (v) { draining = null; return v; },
      function () { draining = null; return false; });
    return draining;
  }
  return {
    ctx: ctx, ops: ops, drain: drain, del: del, put: put,
    on: function (f) { hear.push(f); },
    sent: function () { return all("sent"); },
    checkin: function (c, body) { return add(c, "checkin", { body: body }); },
    draft: function (c, body) { return replace(c, "draft", { body: body }); },
    event: function (c, ev) { return add(c, "event", { ev: ev }); },
    photo: function (c, blob, fields, name) {
      return add(c, "photo", { blob: blob, fields: fields || {}, name: name, state: "pending" });
    },
    unphoto: function (c, id) {  /* a queued report no longer comes with it */
      return ops(c.visit).then(function (l) {
        return Promise.all(l.map(function (o) {
          if (o.kind === "photo" && String(o.photo_id) === String(id)) return del(o.id);
          if (o.kind !== "submit") return null;
          o.payload.photo_ids = (o.payload.photo_ids || []).filter(function (x) { return String(x) !== String(id); });
          return put(o);
        }));
      }).then(function () { return add(c, "photo_delete", { photo_id: id }); });
    },
    submit: function (c, payload) { return replace(c, "submit", { payload: payload }); }
  };
})();
