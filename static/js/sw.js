/* GridWatch's service worker (served at /sw.js by app/offline.py, which puts GW_PRECACHE, the kept
   files and their content hashes, in front of this file). Workbox from npm, loaded from
   /static/vendor/workbox, never from a CDN.
   - the kept files are precached by revision: a release replaces exactly what changed;
   - the phone's pages (/report, /my, the case list and case pages, the diary and visit form,
     a building's page, the households not visited) are network-first, from the
     cache when there is no network (never a login page kept in their place);
   - what the map and the lists fetch is network-first too, photos cache-first;
   - the report queue (outbox.js) is sent from here when Background Sync says the network is back. */
importScripts("/static/vendor/workbox/workbox-sw.js");
workbox.setConfig({ modulePathPrefix: "/static/vendor/workbox/", debug: false });
importScripts("/static/vendor/idb/idb.umd.js", "/static/js/outbox.js");

const { precacheAndRoute, cleanupOutdatedCaches } = workbox.precaching;
const { registerRoute } = workbox.routing;
const { NetworkFirst, CacheFirst, StaleWhileRevalidate } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;

self.skipWaiting();
workbox.core.clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.GW_PRECACHE, { ignoreURLParametersMatching: [/^v$/] });

// A page answered by a redirect (to /login: the session ended) is not kept as that page.
const onlyThePageItself = {
  cacheWillUpdate: async ({ response }) => (response && response.ok && !response.redirected ? response : null),
};
const PHONE_PAGES = /^\/(report|my|cases(\/\d+)?|diary(\/visit)?|buildings\/\d+|households\/unvisited)$/;
registerRoute(
  ({ request, url }) => request.mode === "navigate" && url.origin === self.location.origin && PHONE_PAGES.test(url.pathname),
  new NetworkFirst({ cacheName: "gw-pages", networkTimeoutSeconds: 6, plugins: [onlyThePageItself,
    new ExpirationPlugin({ maxEntries: 80, maxAgeSeconds: 14 * 24 * 3600 })] }),
);
registerRoute(
  ({ url }) => url.origin === self.location.origin && /^\/api\/v1\/(layers\/grid\.geojson|grids\/|reports\/\d+$)/.test(url.pathname),
  new NetworkFirst({ cacheName: "gw-data", networkTimeoutSeconds: 6, plugins: [onlyThePageItself,
    new ExpirationPlugin({ maxEntries: 200, maxAgeSeconds: 7 * 24 * 3600 })] }),
);
registerRoute(
  ({ url }) => url.origin === self.location.origin && /^\/api\/v1\/photos\/\d+$/.test(url.pathname),
  new CacheFirst({ cacheName: "gw-photos", plugins: [onlyThePageItself,
    new ExpirationPlugin({ maxEntries: 200, maxAgeSeconds: 7 * 24 * 3600 })] }),
);
registerRoute(
  ({ url }) => url.origin === self.location.origin && url.pathname.startsWith("/i18n/"),
  new StaleWhileRevalidate({ cacheName: "gw-words" }),
);

// The network is back (Background Sync, where the browser has it): send what waits.
self.addEventListener("sync", (event) => {
  if (event.tag === GridWatchOutbox.SYNC_TAG) event.waitUntil(GridWatchOutbox.flush({ via: "sync" }));
});
// Logging out forgets the pages and data kept for that person (the queue stays theirs: it is only
// ever sent for the user who made it).
self.addEventListener("message", (event) => {
  if (event.data === "forget") {
    event.waitUntil(Promise.all(["gw-pages", "gw-data", "gw-photos"].map((name) => caches.delete(name))));
  }
});
