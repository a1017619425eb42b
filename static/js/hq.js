// HQ console: small progressive enhancements (the pages work without them).
document.documentElement.classList.add("js");
document.querySelectorAll("select.autosubmit").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
