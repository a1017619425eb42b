/* Service worker for /shopper/: the form and its assets open offline. Only GETs are
   handled; submissions are queued by the page (shopper.js) and sent when back online. */
var CACHE = "auditapp-shopper-v1";
self.addEventListener("install", function (e) { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  var isStatic = url.pathname.indexOf("/static/") === 0;
  var isPage = req.mode === "navigate" && url.pathname.indexOf("/shopper/") === 0;
  if (!isStatic && !isPage) return;
  e.respondWith(fetch(req).then(function (res) {
    if (res.redirected && new URL(res.url).pathname.indexOf("/auth/") === 0) {
      caches.delete(CACHE);  /* logged out: forget the cached pages */
      return res;
    }
    if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(req, copy); }); }
    return res;
  }).catch(function () {
    return caches.match(req).then(function (hit) { return hit || Response.error(); });
  }));
});
