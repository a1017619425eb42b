/* A photo for one question: sent at once to the visit's photo endpoint with the item's id
   (without JavaScript the form sends it as p_<item id>). */
(function () {
  "use strict";
  var form = document.getElementById("audit-form");
  if (!form) return;
  var D = form.dataset, T = document.getElementById("i18n").dataset;
  var meta = document.querySelector("meta[name=csrf-token]");
  form.querySelectorAll("input[data-item-photo]").forEach(function (input) {
    input.addEventListener("change", function () {
      var item = input.dataset.itemPhoto, list = document.getElementById("thumbs-" + item);
      var fs = input.closest("fieldset"), err = fs.querySelector(".item-photo-error");
      if (!err) {
        err = document.createElement("p"); err.className = "error item-photo-error";
        err.setAttribute("role", "alert"); input.parentNode.appendChild(err);
      }
      err.textContent = "";
      if (!navigator.onLine) { err.textContent = T.offlinePhoto; input.value = ""; return; }
      [].slice.call(input.files).forEach(function (f) {
        var fd = new FormData(), h = {};
        fd.append("photo", f); fd.append("category", "other"); fd.append("item_id", item);
        if (meta) h["X-CSRFToken"] = meta.content;
        if (D.token) h.Authorization = "Bearer " + D.token;
        fetch(D.api + "/photos", { method: "POST", body: fd, headers: h, credentials: "same-origin" })
          .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
          .then(function (res) {
            if (!res[0]) { err.textContent = res[1].message; return; }
            var li = document.createElement("li"), img = document.createElement("img");
            img.src = res[1].thumb_url; img.alt = f.name; img.width = img.height = 96;
            li.appendChild(img); list.appendChild(li);
          }).catch(function () { err.textContent = T.offlinePhoto; });
      });
      input.value = "";
    });
  });
})();
