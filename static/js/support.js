// On-site support: keep the desk's queue and the job page's requests fresh without a reload, and
// show the chosen category's procedure notes in "Ask for help".
// Every region marked data-support-live is fetched again from its data-poll-url every 10 s (data-poll-ms) while
// the page is visible, and replaced when it changed; a region marked data-settled (nothing waits
// for an answer) is left alone. Without JavaScript the pages still work: they show what was there
// when loaded, and every step is a plain form.
(function () {
  "use strict";
  var PERIOD_MS = 10000;

  function refresh(region) {
    if (region.hasAttribute("data-settled") || document.hidden) { return Promise.resolve(region); }
    return fetch(region.dataset.pollUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return region; }
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector("[data-support-live]");
        if (!fresh || fresh.innerHTML === region.innerHTML) { return region; }
        region.replaceWith(fresh);
        return fresh;
      })
      .catch(function () { return region; });  // a weak signal: try again next time
  }

  // "Ask for help": beside the category, only the chosen category's procedure notes, opened (all
  // of them, folded, before one is chosen, and without JavaScript).
  document.querySelectorAll("[data-ask-notes]").forEach(function (notes) {
    var form = notes.closest("form");
    var select = form && form.querySelector("select[name=category]");
    if (!select) { return; }
    function show() {
      notes.querySelectorAll("details[data-category]").forEach(function (group) {
        var chosen = group.dataset.category === select.value;
        group.hidden = Boolean(select.value) && !chosen;
        group.open = chosen;
      });
      notes.hidden = Boolean(select.value) && !notes.querySelector("details[data-category]:not([hidden])");
    }
    select.addEventListener("change", show);
    show();
  });

  document.querySelectorAll("[data-support-live][data-poll-url]").forEach(function (region) {
    var current = region;
    setInterval(function () {
      refresh(current).then(function (next) { current = next; });
    }, Number(region.dataset.pollMs) || PERIOD_MS);
  });
})();
