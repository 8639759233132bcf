// The installer's pages without a connection: registers the service worker (sw.js), says when a
// page is a saved copy, keeps the steps taken offline in the outbox (outbox.js: transitions with
// their notes and readings, checklist ticks, photos resized here first) and shows them on the job
// page as if done, sends them when the connection returns (on page load, on "online", and when
// the worker starts), shows what the server refused with why and a way out, and deletes it all on
// signing out. Every form still works as a plain post without JavaScript.
(function () {
  "use strict";
  var outbox = window.FieldsvcOutbox;
  var source = document.getElementById("offline-data");
  if (!outbox || !source || !window.indexedDB) { return; }
  var data = JSON.parse(source.textContent);
  var t = data.strings;
  var jobSource = document.getElementById("job-data");
  var job = jobSource ? JSON.parse(jobSource.textContent) : null;
  var box = document.getElementById("outbox");
  var note = document.getElementById("offline-note");
  var mine = [];  // this user's queued steps, as last read
  var signIn = false;
  var retry = null;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function newKey() {
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // The forms of steps not allowed yet come out of their <template>s, hidden (before job.js runs,
  // so that it finds them too).
  document.querySelectorAll("template[data-later]").forEach(function (template) {
    var part = template.content.firstElementChild;
    if (part) { part.hidden = true; }
    template.replaceWith(template.content);
  });

  // --- what the page shows ------------------------------------------------------------------
  function expectedStatus(items) {
    var status = job.status;
    items.forEach(function (item) {
      var step = job.steps[item.action];
      if (item.kind === "act" && item.state === "waiting" && step && step.to) { status = step.to; }
    });
    return status;
  }

  function showJob() {
    if (!job) { return; }
    var queued = mine.filter(function (item) { return item.number === job.number; });
    var status = expectedStatus(queued);
    document.querySelectorAll(".actions form[data-action]").forEach(function (form) {
      var step = job.steps[form.dataset.action];
      (form.closest("details") || form).hidden = !step || step.from.indexOf(status) < 0;
    });
    var badge = document.querySelector("[data-order-status]");
    if (badge && job.labels[status]) {
      badge.textContent = job.labels[status];
      badge.className = "badge status-" + status;
    }
    queued.forEach(function (item) {
      if (item.kind !== "tick" || item.state !== "waiting") { return; }
      var form = document.querySelector('form[data-tick][action="' + new URL(item.url).pathname + '"]');
      if (form) { showTick(form, item.done); }
    });
  }

  function showTick(form, done) {
    var button = form.querySelector("button");
    form.querySelector('input[name="done"]').value = done ? "0" : "1";
    button.setAttribute("aria-pressed", done ? "true" : "false");
    button.classList.toggle("secondary", done);
    form.closest("li").classList.toggle("done", done);
    form.closest("li").classList.add("queued");
  }

  function problem(item) {
    var li = document.createElement("li");
    var title = document.createElement("strong");
    title.textContent = item.label + " · " + item.number;
    li.appendChild(title);
    var why = document.createElement("p");
    if (item.state === "blocked") {
      why.textContent = t.blocked;
    } else {
      var reason = item.message || (item.status === 404 ? t.notFound : item.status === 403 ? t.forbidden
        : fill(t.failed, { status: item.status }));
      why.textContent = t.refused + " — " + reason;
    }
    li.appendChild(why);
    if (item.details && item.details.length) {
      var list = document.createElement("ul");
      item.details.forEach(function (text) {
        var entry = document.createElement("li");
        entry.textContent = text;
        list.appendChild(entry);
      });
      li.appendChild(list);
    }
    var buttons = document.createElement("p");
    buttons.className = "buttons";
    var open = document.createElement("a");
    open.setAttribute("role", "button");
    open.href = "/orders/" + encodeURIComponent(item.number);
    open.textContent = t.openJob;
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = t.discard;
    discard.addEventListener("click", function () {
      if (window.confirm(t.discardConfirm)) {
        outbox.discard(item.id).then(render).then(function () { send(false); });
      }
    });
    buttons.appendChild(open);
    buttons.appendChild(discard);
    li.appendChild(buttons);
    return li;
  }

  async function render() {
    var items = await outbox.all();
    mine = items.filter(function (item) { return item.user === data.user; });
    var others = items.length - mine.length;
    var waiting = mine.filter(function (item) { return item.state === "waiting"; }).length;
    var lines = [];
    if (!navigator.onLine) { lines.push(t.offline); }
    if (waiting) { lines.push(fill(t.waiting, { n: waiting })); }
    if (others) { lines.push(fill(t.otherUser, { n: others })); }
    var count = box.querySelector(".outbox-count");
    count.textContent = lines.join(" ");
    if (signIn && waiting) {
      count.append(" " + t.signIn + " ");
      var link = document.createElement("a");
      link.href = "/login?next=" + encodeURIComponent(location.pathname);
      link.textContent = t.signInLink;
      count.appendChild(link);
    }
    var problems = box.querySelector(".outbox-problems");
    problems.replaceChildren.apply(problems, mine.filter(function (item) {
      return item.state !== "waiting";
    }).map(problem));
    box.hidden = !lines.length && !problems.children.length && !signIn;
    if (waiting && navigator.onLine && !retry) {  // a weak signal fires no "online": try again later
      retry = setTimeout(function () { retry = null; send(false); }, 30000);
    }
    if (note) { note.hidden = navigator.onLine && document.documentElement.dataset.copy !== "saved"; }
    showJob();
  }

  // --- sending --------------------------------------------------------------------------------
  var sending = false;

  async function send(after) {
    if (sending || !navigator.onLine) { return; }
    sending = true;
    try {
      var result = await outbox.replay();
      signIn = Boolean(result.signIn);
      await render();
      arrived(result, after);
    } catch (error) {
      await render();
    } finally {
      sending = false;
    }
  }

  // What was sent is the server's now: show its pages (where the last step leads, after a step
  // just taken; the page as it is now, for a saved copy or a job that moved on).
  function arrived(result, after) {
    if (!result || !result.sent) { return; }
    if (after && result.last && result.last.next) {
      location.assign(result.last.next);
    } else if (document.documentElement.dataset.copy === "saved" || job || location.pathname === "/today") {
      location.reload();
    }
  }

  // --- taking a step ----------------------------------------------------------------------------
  async function resized(file) {
    var image = await createImageBitmap(file);
    var scale = Math.min(1, data.photoSide / Math.max(image.width, image.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
  }

  async function queue(form, submitter) {
    var fields = [], files = [], bytes = 0;
    for (var pair of new FormData(form, submitter || undefined).entries()) {
      if (pair[1] instanceof File) {
        if (!pair[1].size) { continue; }
        var blob = await resized(pair[1]);
        bytes += blob.size;
        files.push({ name: pair[0], blob: blob, filename: pair[1].name.replace(/\.\w+$/, "") + ".jpg" });
      } else {
        fields.push([pair[0], pair[1]]);
        bytes += pair[1].length;
      }
    }
    var button = submitter || form.querySelector("button[type=submit], button:not([type])");
    var label = (button ? button.textContent : "").replace(/\s+/g, " ").trim();
    var kept = await outbox.enqueue({
      // (the attribute: form.action is the form's input named "action")
      user: data.user, url: new URL(form.getAttribute("action"), location.href).href,
      label: form.hasAttribute("data-tick") ? t.tick + " · " + label : label,
      fields: fields, files: files, bytes: bytes
    }, data.maxQueuedBytes);
    if (!kept) {
      window.alert(t.tooBig);
      return false;
    }
    var key = form.querySelector('input[name$="idempotency_key"]');
    if (key) { key.value = newKey(); }  // the next use of this form is another step
    var details = form.closest("details");
    if (details) { details.open = false; }
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !job || !form.matches("form[data-outbox]")) { return; }
    // With a connection and nothing waiting before it, a plain post, as without JavaScript
    // (what was refused stays listed until discarded, and holds nothing up); otherwise it goes
    // after what waits.
    var before = mine.some(function (item) { return item.state === "waiting"; });
    if (navigator.onLine && !before) { return; }
    event.preventDefault();
    queue(form, event.submitter).then(function (queued) {
      return render().then(function () { if (queued) { send(true); } });
    }, function (error) {
      window.alert(t.notKept);
      throw error;
    });
  });

  // Signing out leaves nothing of theirs on this phone (the server also sends Clear-Site-Data).
  document.querySelectorAll("form[data-signout]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.cleared) { return; }
      event.preventDefault();
      var waiting = mine.length;
      if (waiting && !window.confirm(fill(t.signOutPending, { n: waiting }))) { return; }
      var unregister = navigator.serviceWorker ? navigator.serviceWorker.getRegistrations().then(function (all) {
        return Promise.all(all.map(function (registration) { return registration.unregister(); }));
      }) : Promise.resolve();
      Promise.all([outbox.clear(), unregister]).catch(function () {}).then(function () {
        form.dataset.cleared = "1";
        form.submit();
      });
    });
  });

  // --- starting -----------------------------------------------------------------------------
  window.addEventListener("online", function () { render().then(function () { send(false); }); });
  window.addEventListener("offline", render);

  async function start() {
    // Another user's saved pages go (their outbox waits for them, unsent).
    var owner = await outbox.meta("owner");
    if (owner && owner !== data.user && window.caches) { await caches.delete("fieldsvc-pages"); }
    await outbox.setMeta("owner", data.user);
    await outbox.setMeta("strings", t);  // for the worker: what it says, and keeps, by itself
    await outbox.setMeta("limits", { maxQueuedBytes: data.maxQueuedBytes });
    await render();
    if (navigator.serviceWorker && outbox.src) {
      var core = new URL(outbox.src);
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "outbox") {
          render().then(function () { arrived(event.data.result, false); });
        }
      });
      var controlled = Boolean(navigator.serviceWorker.controller);
      navigator.serviceWorker.register("/sw.js?core=" + encodeURIComponent(core.pathname + core.search), { scope: "/" })
        .then(function () { return navigator.serviceWorker.ready; })
        .then(function (registration) {
          if (controlled || !registration.active) { return; }
          // Opened before the worker was there: it keeps this page and what it loaded now.
          var urls = performance.getEntriesByType("resource").filter(function (entry) {
            return entry.initiatorType !== "fetch" && entry.initiatorType !== "xmlhttprequest";
          }).map(function (entry) { return entry.name; });
          if (document.documentElement.dataset.copy === "live") { urls.unshift(location.href); }
          registration.active.postMessage({ type: "keep", urls: urls });
        }).catch(function () {});
    }
    await send(false);
  }
  start();
})();
