// The installer's service worker (served as /sw.js): keeps the pages the server marks for offline
// use (X-Fieldsvc-Offline: Today, Upcoming, the job pages opened) and what pages load (styles,
// scripts, icons: whatever URLs they have), so they open without a connection; and sends the
// outbox when it starts. Pages are fetched from the network first: the copy is only for when
// there is none, and says so (data-copy="saved"). Signing out deletes every cache.
"use strict";
var core = new URL(self.location).searchParams.get("core");
if (core && /^\/[^/\\]/.test(core)) { importScripts(core); }  // static/js/outbox.js, as the page names it
var PAGES = "fieldsvc-pages";
var SHELL = "fieldsvc-shell";
var ASSETS = ["style", "script", "image", "font", "manifest"];

function pageKey(url) {
  var parsed = new URL(url);
  return parsed.origin + parsed.pathname;
}

async function tell(message) {
  var windows = await self.clients.matchAll({ type: "window" });
  windows.forEach(function (client) { client.postMessage(message); });
}

async function replay() {
  if (!self.FieldsvcOutbox) { return; }
  try {
    var result = await self.FieldsvcOutbox.replay();
    if (result.sent || result.refused) { await tell({ type: "outbox", result: result }); }
  } catch (error) { /* the next start, page load or "online" tries again */ }
}

async function keepPage(response, url) {
  var home = response.headers.get("X-Fieldsvc-Offline");
  if (!home) { return; }
  var cache = await caches.open(PAGES);
  await cache.put(pageKey(url), response.clone());
  if (home === "home") { await cache.put(self.registration.scope, response.clone()); }
}

async function page(request) {
  try {
    var response = await fetch(request);
    if (response.ok) { await keepPage(response, request.url); }
    return response;
  } catch (error) {
    var kept = await caches.match(pageKey(request.url), { cacheName: PAGES });
    if (kept) {
      var html = (await kept.text()).replace('data-copy="live"', 'data-copy="saved"');
      return new Response(html, { status: 200, headers: kept.headers });
    }
    var strings = self.FieldsvcOutbox ? await self.FieldsvcOutbox.meta("strings").catch(function () { return null; }) : null;
    return notice((strings && strings.noCopy) || "", 503);
  }
}

function mayKeep(response) {
  return response.ok && !/no-store|private/.test(response.headers.get("Cache-Control") || "");
}

async function asset(request) {
  var cache = await caches.open(SHELL);
  try {
    var response = await fetch(request);
    if (mayKeep(response)) { await cache.put(request, response.clone()); }
    return response;
  } catch (error) {
    var kept = await cache.match(request);
    if (kept) { return kept; }
    throw error;
  }
}

// A page opened before this worker controlled it asks for its own URL and what it loaded.
async function keep(urls) {
  var cache = await caches.open(SHELL);
  for (var url of urls) {
    if (new URL(url).origin !== self.location.origin) { continue; }
    try {
      var response = await fetch(url, { credentials: "same-origin" });
      if (response.headers.get("X-Fieldsvc-Offline")) { await keepPage(response, url); } else if (mayKeep(response)) {
        await cache.put(url, response);
      }
    } catch (error) { /* offline already: kept next time */ }
  }
}

// A step posted while the phone believes it is online but the network fails (a weak signal):
// kept in the outbox, as the page keeps it offline, and the job page opened (its saved copy says
// what waits). Only the user whose pages these are (the last one signed in) keeps steps here.
var STEP = /^\/orders\/([^/]+)\/(act|steps\/[^/]+)$/;

async function post(request) {
  var copy = request.clone();
  try {
    return await fetch(request);
  } catch (error) {
    var outbox = self.FieldsvcOutbox;
    var owner = outbox && await outbox.meta("owner");
    var job = new URL("/orders/" + new URL(request.url).pathname.match(STEP)[1], request.url).href;
    // Only for a job the owner's phone keeps (not, say, a supervisor's page in the same browser).
    if (!owner || !(await caches.match(pageKey(job), { cacheName: PAGES }))) { throw error; }
    var strings = (await outbox.meta("strings")) || {};
    var limits = (await outbox.meta("limits")) || {};
    var fields = [], files = [], bytes = 0;
    for (var pair of (await copy.formData()).entries()) {
      if (typeof pair[1] === "string") {
        fields.push([pair[0], pair[1]]);
        bytes += pair[1].length;
      } else if (pair[1].size) {
        files.push({ name: pair[0], blob: pair[1], filename: pair[1].name });
        bytes += pair[1].size;
      }
    }
    var action = (fields.find(function (p) { return p[0] === "action"; }) || [])[1];
    var label = action ? (strings.actions || {})[action] || action : strings.tick;
    var kept = await outbox.enqueue({ user: owner, url: request.url, label: label, fields: fields, files: files,
                                      bytes: bytes }, limits.maxQueuedBytes || 0);
    if (!kept) { return notice(strings.tooBig || "", 507); }
    return Response.redirect(job, 303);
  }
}

function notice(text, status) {
  var escaped = text.replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  return new Response('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
                      "<p>" + escaped + '</p><p><a href="/">⌂</a></p>',
                      { status: status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  // A new worker comes with new static URLs: the old shell goes (the pages stay), and what is
  // waiting is sent.
  event.waitUntil(caches.delete(SHELL).then(function () { return self.clients.claim(); }).then(replay));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) { event.waitUntil(keep(data.urls)); }
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && request.mode === "navigate" && STEP.test(url.pathname)) {
    event.respondWith(post(request));
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(request.destination) >= 0) {
    event.respondWith(asset(request));
  }
});

replay();  // whenever the browser starts this worker (a page load, a push of the phone's network…)
