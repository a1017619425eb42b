// HQ questionnaire item form: show each type's settings (timed targets, choice options,
// number range) only for that type (fieldset[data-types]).
(function () {
  var type = document.querySelector('select[name=item_type]');
  var boxes = [].slice.call(document.querySelectorAll('fieldset.type-settings'));
  if (!type || !boxes.length) return;
  function sync() {
    boxes.forEach(function (box) {
      box.hidden = box.dataset.types.split(' ').indexOf(type.value) < 0;
    });
  }
  type.addEventListener('change', sync);
  sync();
})();
