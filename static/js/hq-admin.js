// HQ questionnaire item form: show the timed targets only for timed items.
(function () {
  var type = document.querySelector('select[name=item_type]');
  var timed = document.querySelector('fieldset.timed-targets');
  if (!type || !timed) return;
  function sync() { timed.hidden = type.value !== 'timed'; }
  type.addEventListener('change', sync);
  sync();
})();
