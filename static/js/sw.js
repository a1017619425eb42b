/* Service worker for /shopper/. Keeps, and nothing else: the static assets, the list of
   assignments and every form that can still be filled in (/shopper/visits/<id>, or
   /shopper/t/<token> from a link; only an editable form carries data-sw). The list page asks
   it to fetch every open assignment's form ahead ("precache"), and forms no longer in the list
   (sent, reassigned away) are dropped; a form the server stops serving (404) goes too, and
   everything goes at logout ("forget") or when the server sends the shopper to log in.
   Background Sync ("outbox") sends what the pages queued (outbox.js). */
importScripts("/static/js/outbox.js");
var CACHE = "auditapp-shopper-v3";
var FORM_PAGE = /^\/shopper\/(visits\/\d+|t\/[^\/]+)$/, LIST = "/shopper/";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
/* keep a page; ``before(cache, html)`` (if given) runs first, and the page is kept only once it
   is done, so a page in the cache never lacks what it needs */
function keepPage(req, res, isForm, before) {
  return caches.open(CACHE).then(function (cache) {
    if (!res.ok || res.redirected) return cache.delete(req).then(function () { return ""; });
    return res.text().then(function (html) {
      if (isForm && html.indexOf("data-sw=") < 0) return cache.delete(req).then(function () { return ""; });
      var h = new Headers(res.headers);
      h.delete("Content-Length"); h.delete("Content-Encoding");
      return Promise.resolve(before && before(cache, html)).then(function () {
        return cache.put(req, new Response(html, { status: res.status, headers: h }));
      }).then(function () { return html; });
    });
  });
}
/* the scripts, styles and icons a page names (those not kept yet) */
function keepAssets(cache, html) {
  var assets = (html.match(/(?:href|src)="\/static\/[^"]+"/g) || [])
    .map(function (m) { return m.slice(m.indexOf('"') + 1, -1); });
  return Promise.all(assets.map(function (a) {
    return cache.match(a).then(function (hit) { return hit || cache.add(a); });
  }));
}
/* the list and the forms ahead, each kept after the scripts, styles and icons it names:
   a form kept is a form that works offline (its scripts too) */
function precache(urls) {
  var pages = [LIST].concat(urls);
  return caches.open(CACHE).then(function (cache) {
    return Promise.all(pages.map(function (u) {
      return fetch(u, { credentials: "same-origin", headers: { "X-Precache": "1" } }).then(function (res) {
        if (res.redirected && new URL(res.url).pathname.indexOf("/auth/") === 0) throw new Error("login");
        return keepPage(new Request(u), res, u !== LIST, keepAssets);
      });
    })).then(function () {
      return cache.keys().then(function (reqs) {
        return Promise.all(reqs.filter(function (r) {
          var p = new URL(r.url).pathname;
          return /^\/shopper\/visits\/\d+$/.test(p) && urls.indexOf(p) < 0;
        }).map(function (r) { return cache.delete(r); }));
      });
    });
  }).catch(function () {});
}
self.addEventListener("message", function (e) {
  var m = e.data || {};
  if (m.type === "precache") e.waitUntil(precache(m.urls || []));
  if (m.type === "forget") e.waitUntil(caches.delete(CACHE));
});
self.addEventListener("sync", function (e) {
  if (e.tag === "outbox") e.waitUntil(Outbox.drain().then(function (ok) { if (!ok) throw new Error("retry"); }));
});
self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  var isStatic = url.pathname.indexOf("/static/") === 0 || url.pathname === "/shopper/manifest.webmanifest";
  var isPage = req.mode === "navigate" && !url.search &&
    (FORM_PAGE.test(url.pathname) || url.pathname === LIST);
  if (!isStatic && !isPage) return;
  e.respondWith(fetch(req).then(function (res) {
    if (res.redirected && new URL(res.url).pathname.indexOf("/auth/") === 0) {
      e.waitUntil(caches.delete(CACHE));  /* logged out: forget the stored pages */
      return res;
    }
    if (isPage) {
      e.waitUntil(keepPage(req, res.clone(), url.pathname !== LIST));
    } else if (res.ok) {
      var copy = res.clone();
      e.waitUntil(caches.open(CACHE).then(function (c) { return c.put(req, copy); }));
    }
    return res;
  }).catch(function () {
    return caches.match(req, { ignoreVary: true }).then(function (hit) { return hit || Response.error(); });
  }));
});
