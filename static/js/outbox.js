// The phone's outbox: the steps an installer takes without a connection, kept in IndexedDB and
// sent in the order taken. Shared by the pages (offline.js) and the service worker (sw.js), which
// both replay it; a Web Lock lets one replay run at a time. Each step keeps its idempotency key
// (one that reached the server before the connection dropped is answered, not applied, again), is
// sent with a CSRF token fetched just before (the page's may belong to an ended session), and only
// for the user who took it. A step queued after another on the same order is sent with the version
// the server says the earlier one produced: the order moving on by this phone's own steps is no
// conflict, anyone else's change in between is.
(function (root) {
  "use strict";
  var NAME = "fieldsvc-offline";
  var opened = null;

  function open() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open(NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
          request.result.createObjectStore("meta");
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () { db.close(); opened = null; };
          resolve(db);
        };
        request.onerror = function () { opened = null; reject(request.error); };
      });
    }
    return opened;
  }

  function run(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var request = work(db.transaction(store, mode).objectStore(store));
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    });
  }

  var outbox = {
    src: root.document && root.document.currentScript ? root.document.currentScript.src : null,
    all: function () { return run("outbox", "readonly", function (s) { return s.getAll(); }); },
    add: function (item) { return run("outbox", "readwrite", function (s) { return s.add(item); }); },
    put: function (item) { return run("outbox", "readwrite", function (s) { return s.put(item); }); },
    remove: function (id) { return run("outbox", "readwrite", function (s) { return s.delete(id); }); },
    meta: function (key) { return run("meta", "readonly", function (s) { return s.get(key); }); },
    setMeta: function (key, value) { return run("meta", "readwrite", function (s) { return s.put(value, key); }); },
    // Everything this phone keeps (signing out): the database and every cache of the site.
    clear: function () {
      var closing = opened ? opened.then(function (db) { db.close(); }, function () {}) : Promise.resolve();
      opened = null;
      return closing.then(function () {
        return new Promise(function (resolve) {
          var request = indexedDB.deleteDatabase(NAME);
          request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
        });
      }).then(function () {
        return root.caches ? caches.keys().then(function (keys) {
          return Promise.all(keys.map(function (key) { return caches.delete(key); }));
        }) : null;
      });
    },
    // A step taken after a refused or blocked one of the same order waits for it (it was planned
    // from what that one would have done): discarding the refused step lets the rest go.
    discard: async function (id) {
      await outbox.remove(id);
      for (var item of await outbox.all()) {
        if (item.after === id) {
          item.after = null;
          if (item.state === "blocked") { item.state = "waiting"; }
          await outbox.put(item);
        }
      }
    },
    // Keep a step taken without a connection: its form's fields and files, where it goes (the
    // URL says which order and whether a transition or a tick), and the transition it follows on
    // the same order (sent with the version that one produces). False when its photos would take
    // the queued bytes beyond `maxBytes`.
    enqueue: async function (step, maxBytes) {
      var path = new URL(step.url).pathname.match(/^\/orders\/([^/]+)\/(act|steps\/[^/]+)$/);
      if (!path) { throw new Error("not a step: " + step.url); }
      var items = await outbox.all();
      var kept = items.reduce(function (sum, item) { return sum + (item.bytes || 0); }, 0);
      if (step.files.length && kept + step.bytes > maxBytes) { return false; }
      var number = decodeURIComponent(path[1]), act = path[2] === "act";
      function field(test) { return step.fields.find(function (pair) { return test(pair[0]); }) || [null, null]; }
      // (a refused step is not one to follow: the installer saw it refused, and this step is
      // planned from the page as it is)
      var earlier = items.filter(function (item) {
        return item.user === step.user && item.number === number && item.kind === "act" && item.state === "waiting";
      }).pop();
      await outbox.add({
        user: step.user, number: number, url: step.url, kind: act ? "act" : "tick",
        action: act ? field(function (name) { return name === "action"; })[1] : null, label: step.label,
        fields: step.fields, files: step.files, bytes: step.bytes, state: "waiting", queuedAt: Date.now(),
        done: act ? null : field(function (name) { return name === "done"; })[1] === "1",
        versionField: field(function (name) { return /-version$/.test(name); })[0], version: null,
        after: act && earlier ? earlier.id : null
      });
      return true;
    },
    replay: function () {
      var locks = root.navigator && root.navigator.locks;
      return locks ? locks.request("fieldsvc-outbox", replay) : replay();
    }
  };

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
  }

  async function replay() {
    var items = await outbox.all();
    if (!items.some(function (item) { return item.state === "waiting"; })) { return { sent: 0 }; }
    var session;
    try {
      var answer = await fetch("/session/token", { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok || !isJson(answer)) { return { sent: 0, signIn: true }; }
      session = await answer.json();
    } catch (error) {
      return { sent: 0, offline: true };
    }
    var pending = new Map(items.map(function (item) { return [item.id, item]; }));
    var result = { sent: 0, user: session.user };
    for (var item of items) {
      if (item.user !== session.user || item.state !== "waiting") { continue; }
      if (item.after && pending.has(item.after)) {  // the step before it was not recorded
        item.state = "blocked";
        await outbox.put(item);
        continue;
      }
      var body = new FormData();
      item.fields.forEach(function (pair) {
        var name = pair[0], value = pair[1];
        if (/csrf_token$/.test(name)) { value = session.csrf_token; }
        if (name === item.versionField && item.version !== null) { value = String(item.version); }
        body.append(name, value);
      });
      item.files.forEach(function (file) { body.append(file.name, file.blob, file.filename); });
      var response;
      try {
        response = await fetch(item.url, { method: "POST", body: body, credentials: "same-origin",
                                           headers: { "X-Fieldsvc-Outbox": "1" } });
      } catch (error) {
        result.offline = true;
        return result;
      }
      if (response.redirected && new URL(response.url).pathname === "/login") {
        result.signIn = true;
        return result;
      }
      if (response.status >= 500 || response.status === 429) {  // busy or down: try again later
        result.retry = true;
        return result;
      }
      var said = isJson(response) ? await response.json().catch(function () { return null; }) : null;
      if (response.ok && said && said.ok) {
        await outbox.remove(item.id);
        pending.delete(item.id);
        result.sent += 1;
        result.last = { number: item.number, next: said.next };
        for (var later of items) {
          if (later.after === item.id) {
            later.after = null;
            if (typeof said.version === "number") { later.version = said.version; }
            await outbox.put(later);
          }
        }
      } else {
        item.state = "refused";
        item.status = response.status;
        item.message = said && said.message ? said.message : null;
        item.details = said && said.details ? said.details : [];
        await outbox.put(item);
        result.refused = (result.refused || 0) + 1;
      }
    }
    return result;
  }

  root.FieldsvcOutbox = outbox;
})(self);
