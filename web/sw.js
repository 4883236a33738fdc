// The service worker of the pages that work offline — the phone page (/m) and the
// sampling point's (/scan), each registered for its own scope: keeps their files (the
// shell) on the device, so they open at once on a repeat visit and with no network at all. The server writes
// its pages' version into VERSION when it serves this file (src/http/web.rs), so any new
// build is a new worker: it caches the new shell whole, then deletes the old one, and
// the page reloads onto it (m.js). Nothing else is cached: the API and the live feed
// always go to the server, and what a person recorded lives in IndexedDB (outbox.js).

const VERSION = "__MUSTER_PAGES_VERSION__";
const CACHE = `muster-shell-${VERSION}`;
const SHELL = [
  "/m", "/m-early.js", "/m.js", "/m.css", "/i18n.js", "/session.js", "/phone-words.js", "/outbox.js", "/live.js", "/frames.js", "/callup.js", "/callup.css", "/chain.js", "/m-chain.js", "/tel.js",
  "/manifest.webmanifest", "/favicon.svg", "/icon-192.png", "/icon-512.png",
  "/scan", "/scan.js", "/scan.css", "/scan-words.js", "/scan.webmanifest", "/vendor/jsQR.js",
];

self.addEventListener("install", (event) => {
  // `reload`: past the browser's HTTP cache, so the new shell is the new server's.
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("muster-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  // A page's own address with whatever query (`/m?token=…`) is the one cached `/m`.
  const path = url.pathname === "/m.html" ? "/m" : url.pathname === "/scan.html" ? "/scan" : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    caches.open(CACHE)
      .then((cache) => cache.match(path))
      .then((hit) => hit || fetch(event.request)),
  );
});
