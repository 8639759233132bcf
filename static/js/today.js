// Today keeps itself fresh: while the page is visible it asks for itself again every 30 s
// (data-poll-ms) with the ETag it was given (If-None-Match). Nothing changed: the server answers
// 304, a few hundred bytes, and nothing moves. Something changed (an order assigned, rebooked,
// overdue from this minute): the region marked data-today-live is replaced with the new one. A
// hidden page (the phone locked, another tab) does not ask; it asks at once when shown again.
// Signed out (from another tab), it stops asking. Without JavaScript the page works as before:
// it shows what was there when it was loaded.
(function () {
  "use strict";
  var region = document.querySelector("[data-today-live][data-poll-url]");
  if (!region || !window.fetch) { return; }
  var period = Number(region.dataset.pollMs) || 30000;
  var url = region.dataset.pollUrl;
  var timer = null;
  var busy = false;
  var signedOut = false;

  function refresh() {
    if (busy || signedOut || document.hidden) { return; }
    busy = true;
    var headers = { "Accept": "text/html" };
    if (region.dataset.etag) { headers["If-None-Match"] = region.dataset.etag; }
    // An If-None-Match of our own: the browser hands the 304 to us instead of its cached copy.
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: headers, redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect") { signedOut = true; stop(); return null; }  // stop asking
        if (response.status !== 200) { return null; }  // 304: unchanged
        var etag = response.headers.get("ETag") || "";
        return response.text().then(function (html) { return { etag: etag, html: html }; });
      })
      .then(function (answer) {
        if (!answer) { return; }
        var page = new DOMParser().parseFromString(answer.html, "text/html");
        var fresh = page.querySelector("[data-today-live]");
        if (!fresh) { return; }
        if (fresh.innerHTML !== region.innerHTML) { region.innerHTML = fresh.innerHTML; }
        region.dataset.etag = answer.etag;
      })
      .catch(function () {})  // a weak signal: try again next time
      .then(function () { busy = false; });
  }

  function start() {
    if (timer === null && !signedOut) { timer = setInterval(refresh, period); }
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else { refresh(); start(); }
  });
  if (!document.hidden) { start(); }
})();
