// Applies the chosen theme before the first paint (a classic script in <head>, not a module,
// so there is no flash of the wrong colours). theme.js offers the switch.
(function () {
  try {
    var t = localStorage.getItem("sessionhub.theme");
    if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
  } catch (e) {
    /* storage unavailable: follow the system */
  }
})();
