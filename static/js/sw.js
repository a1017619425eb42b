/* Service worker for /shopper/: the audit form and its assets open offline. Only GETs are
   handled; submissions are queued by the page (shopper.js) and sent when back online.
   What is kept, and nothing else: the static assets, and the audit form itself while it can
   still be filled in (/shopper/visits/<id> signed in, /shopper/t/<token> from a link; only an
   editable form carries data-sw, the attribute that registers this worker). Other pages
   (the list of visits, a "sent" or read-only page, photos, pages with a query) are someone's
   and are never stored. A stored form is dropped as soon as the server stops serving it
   (submitted, reassigned, link expired: 404), and everything is dropped when the server
   sends the shopper to the login page (logged out, session ended). */
var CACHE = "auditapp-shopper-v2";
var FORM_PAGE = /^\/shopper\/(visits\/\d+|t\/[^\/]+)$/;
var EDITABLE_FORM = "data-sw=";
self.addEventListener("install", function (e) { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  /* older versions' caches (which kept every /shopper/ page) go */
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
function keepForm(req, res) {
  return caches.open(CACHE).then(function (cache) {
    if (!res.ok || res.redirected) return cache.delete(req);
    return res.text().then(function (html) {
      if (html.indexOf(EDITABLE_FORM) < 0) return cache.delete(req);
      var headers = new Headers(res.headers);
      headers.delete("Content-Length"); headers.delete("Content-Encoding");
      return cache.put(req, new Response(html, { status: res.status, headers: headers }));
    });
  });
}
self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  var isStatic = url.pathname.indexOf("/static/") === 0;
  var isForm = req.mode === "navigate" && !url.search && FORM_PAGE.test(url.pathname);
  if (!isStatic && !isForm) return;
  e.respondWith(fetch(req).then(function (res) {
    if (res.redirected && new URL(res.url).pathname.indexOf("/auth/") === 0) {
      e.waitUntil(caches.delete(CACHE));  /* logged out: forget the stored forms */
      return res;
    }
    if (isForm) {
      e.waitUntil(keepForm(req, res.clone()));
    } else if (res.ok) {
      var copy = res.clone();
      e.waitUntil(caches.open(CACHE).then(function (c) { return c.put(req, copy); }));
    }
    return res;
  }).catch(function () {
    return caches.match(req).then(function (hit) { return hit || Response.error(); });
  }));
});
