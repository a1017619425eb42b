/* The form's photos, online or not, the visit's (last step) and each question's (its own
   field, sent with the item's id): each is shrunk on the phone (long side 1,600 px, JPEG,
   the camera's EXIF kept and set upright), kept in the outbox (IndexedDB) and shown as
   waiting, under its question or in the visit's list, until the server has it; any can be
   removed before the report is sent, which goes only once they have all arrived.
   AuditPhotos.add(files, fields) queues photos with extra form fields (e.g. item_id).
   (Without IndexedDB the form posts them: photos, p_<item id>.) */
(function () {
  "use strict";
  var form = document.getElementById("audit-form");
  if (!form || !window.Outbox || !window.indexedDB) return;
  var T = document.getElementById("i18n").dataset, ctx = Outbox.ctx(form), input = document.getElementById("photos"),
    list = document.getElementById("thumbs"), err = document.getElementById("photo-error"), SIDE = 1600;
  /* where a photo is shown: under its question, else in the visit's list */
  function listFor(fields) {
    var item = fields && fields.item_id;
    return item && document.getElementById("thumbs-" + item) || list;
  }

  /* the JPEG's EXIF segment (APP1), its orientation set to 1 (the pixels are upright now) */
  function exif(buf) {
    var v = new DataView(buf), i = 2;
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return null;
    while (i + 4 <= v.byteLength && v.getUint8(i) === 0xFF) {
      var m = v.getUint8(i + 1), len = v.getUint16(i + 2);
      if (m === 0xE1 && v.getUint32(i + 4) === 0x45786966) {
        var seg = buf.slice(i, i + 2 + len), d = new DataView(seg), t = 10,
          le = d.getUint16(t) === 0x4949, ifd = t + d.getUint32(t + 4, le), n = d.getUint16(ifd, le);
        for (var k = 0; k < n; k++) {
          var e = ifd + 2 + k * 12;
          if (d.getUint16(e, le) === 0x0112) d.setUint16(e + 8, 1, le);
        }
        return seg;
      }
      if (m === 0xDA) break;
      i += 2 + len;
    }
    return null;
  }
  function shrink(file) {
    return createImageBitmap(file).then(function (bmp) {
      var k = Math.min(1, SIDE / Math.max(bmp.width, bmp.height)), c = document.createElement("canvas");
      c.width = Math.round(bmp.width * k); c.height = Math.round(bmp.height * k);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      return Promise.all([new Promise(function (ok) { c.toBlob(ok, "image/jpeg", 0.85); }),
        file.slice(0, 262144).arrayBuffer().then(exif).catch(function () { return null; })]);
    }).then(function (r) {
      return r[1] ? new Blob([r[0].slice(0, 2), r[1], r[0].slice(2)], { type: "image/jpeg" }) : r[0];
    }).catch(function () { return file; });  /* not readable here: the server says why */
  }
  /* photos still being shrunk and stored: a report submitted meanwhile waits for them
     (else it could leave before a failed answer's required photo, and be refused) */
  var busy = Promise.resolve();
  /* where a photo's problem is said: under its question, else under the visit's photos */
  function errorFor(fields) {
    var item = fields && fields.item_id;
    return item && document.getElementById("photo-error-" + item) || err;
  }
  function add(files, fields) {
    var box = errorFor(fields);
    if (box) box.textContent = "";
    var done = files.reduce(function (p, f) {
      return p.then(function () { return shrink(f); }).then(function (b) {
        return Outbox.photo(ctx, b, fields, (f.name || "photo").replace(/\.\w+$/, "") + ".jpg");
      });
    }, Promise.resolve()).then(function () {
      draw(); if (navigator.onLine) Outbox.drain({ user: ctx.user, csrf: ctx.csrf });
    }, function (e) {  /* not kept (the phone's storage is full…): say so, never silently */
      draw();
      if (box) box.textContent = T.photoNotKept.replace("%(reason)s", e && (e.name || e.message) || "?");
    });
    busy = busy.then(function () { return done; }).catch(function () {});
    return done;
  }
  if (input) input.addEventListener("change", function () {
    var files = [].slice.call(input.files);
    input.value = "";
    add(files, { category: form.elements.photo_category.value });
  });
  /* a question's photo (taken when its answer fails, or the answer of a photo question) */
  [].forEach.call(form.querySelectorAll("input[data-item-photo]"), function (inp) {
    inp.addEventListener("change", function () {
      var files = [].slice.call(inp.files);
      inp.value = "";
      add(files, { category: "other", item_id: inp.dataset.itemPhoto });
    });
  });
  function drawn(id) { return form.querySelector(".thumbs li[data-photo-id='" + id + "']"); }
  function removeBtn(li, fn) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn photo-rm"; b.textContent = "×"; b.setAttribute("aria-label", T.removePhoto);
    b.addEventListener("click", function () { fn(); li.remove(); });
    li.appendChild(b);
  }
  /* what was removed on this page is never drawn again, even by a draw whose read of the
     outbox began before the removal (a tap on × can come before the page's first read) */
  var removed = { op: {}, photo: {} };
  /* the photos already on the server (drawn by the page) can be removed too */
  [].forEach.call(form.querySelectorAll(".thumbs li[data-photo-id]"), function (li) {
    removeBtn(li, function () {
      removed.photo[li.dataset.photoId] = true;
      Outbox.unphoto(ctx, li.dataset.photoId);
    });
  });
  var urls = [];
  function draw() {
    Outbox.ops(ctx.visit).then(function (l) {
      l = l.filter(function (o) {
        return o.kind !== "photo" || !removed.op[o.id] && !removed.photo[o.photo_id];
      });
      [].forEach.call(form.querySelectorAll(".thumbs li[data-op]"), function (li) { li.remove(); });
      urls.forEach(URL.revokeObjectURL); urls = [];
      var gone = l.filter(function (o) { return o.kind === "photo_delete"; }).map(function (o) { return o.photo_id; });
      [].forEach.call(form.querySelectorAll(".thumbs li[data-photo-id]"), function (li) {
        if (gone.indexOf(li.dataset.photoId) >= 0) li.remove();
      });
      l.filter(function (o) {  /* (one the page drew already: once) */
        return o.kind === "photo" && !drawn(o.photo_id);
      }).forEach(function (o) {
        var li = document.createElement("li"), img = document.createElement("img"), s = document.createElement("span");
        var u = URL.createObjectURL(o.blob); urls.push(u);
        li.dataset.op = o.id; li.className = "photo-" + o.state;
        img.src = u; img.alt = T.photoAlt; img.width = img.height = 96;
        s.className = "photo-state"; s.textContent = o.state === "sent" ? T.sent : o.state === "failed" ? o.error : T.waiting;
        li.appendChild(img); li.appendChild(s);
        removeBtn(li, function () {
          removed.op[o.id] = true;
          if (o.photo_id) removed.photo[o.photo_id] = true;
          Outbox.del(o.id).then(function () { if (o.photo_id) Outbox.unphoto(ctx, String(o.photo_id)); });
        });
        var ul = listFor(o.fields);
        if (ul) ul.appendChild(li);
      });
    });
  }
  Outbox.on(function (m) { if (m.visit === ctx.visit && m.what === "photo") draw(); });
  draw();
  window.AuditPhotos = { add: add, shrink: shrink, ready: function () { return busy; } };
})();
