/* The phone's outbox: what a grid worker sends (a report, a confirmation, a diary's visit) is kept on the phone first (IndexedDB, through
   idb from npm) with its client_id, then sent; it survives a reload, closing the browser and a
   restart of the phone. It is sent when the network returns — Background Sync where the browser
   has it (sw.js), else on "online", on page open and on a timer (report.js) — and the server
   answers a repeated client_id with the first report, so however often it is sent it lands once.
   Only the user who made an item sends it (a shared phone); an item the server refuses for a
   reason retrying will not fix (a 4xx) is kept as failed, with the reason, until it is deleted.
   Works in a page and in the service worker (no DOM here). */
(function (scope) {
  const DB = "gridwatch", OUTBOX = "outbox", SENT = "sent", SYNC_TAG = "gw-outbox", KEEP_SENT = 10;
  let opened = null;
  const db = () => (opened = opened || scope.idb.openDB(DB, 1, {
    upgrade(d) {
      d.createObjectStore(OUTBOX, { keyPath: "client_id" });
      d.createObjectStore(SENT, { keyPath: "client_id" });
    },
  }));

  function notify() {
    if (scope.document) scope.dispatchEvent(new Event("gw-outbox"));
    else if (scope.clients) scope.clients.matchAll().then((all) => all.forEach((c) => c.postMessage("gw-outbox")));
  }

  async function add(item) {
    await (await db()).put(OUTBOX, { ...item, state: "waiting", created: Date.now(), attempts: 0 });
    notify();
  }
  const all = async () => (await (await db()).getAll(OUTBOX)).sort((a, b) => a.created - b.created);
  async function remove(clientId) { await (await db()).delete(OUTBOX, clientId); notify(); }
  async function retry(clientId) {
    const item = await (await db()).get(OUTBOX, clientId);
    if (item) { await (await db()).put(OUTBOX, { ...item, state: "waiting", error: null }); notify(); }
  }
  const sent = async () => (await (await db()).getAll(SENT)).sort((a, b) => b.at - a.at);

  async function markSent(item, body) {
    const d = await db();
    await d.delete(OUTBOX, item.client_id);
    await d.put(SENT, { client_id: item.client_id, kind: item.kind, user: item.user, id: body.id,
      grid: body.grid ? body.grid.name : null, at: Date.now() });
    for (const old of (await sent()).slice(KEEP_SENT)) await d.delete(SENT, old.client_id);
  }

  function formOf(item, extra) {
    const form = new FormData();
    for (const [k, v] of Object.entries({ ...item.fields, ...extra })) if (v != null && v !== "") form.append(k, v);
    form.append("client_id", item.client_id);
    const field = item.kind === "visit" ? "photo" : "photos";
    (item.photos || []).forEach((blob, i) => form.append(field, blob, `photo-${i + 1}.jpg`));
    return form;
  }

  /* One POST: with upload progress in a page (XHR), with fetch in the service worker. */
  function post(url, form, csrf, onProgress) {
    if (scope.XMLHttpRequest && onProgress) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", url);
        xhr.setRequestHeader("X-CSRFToken", csrf);
        xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
        xhr.onload = () => {
          let body = {};
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
          resolve({ status: xhr.status, body });
        };
        xhr.onerror = () => reject(new Error("network"));
        xhr.ontimeout = () => reject(new Error("timeout"));
        xhr.timeout = 120000;
        xhr.send(form);
      });
    }
    return fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then((r) => r.json().catch(() => ({})).then((body) => ({ status: r.status, body })));
  }

  async function send(item, csrf, onProgress) {
    const progress = onProgress ? (share) => onProgress(item, share) : null;
    if (item.kind === "confirm") {
      // a confirmation is a step on the case: with the version it saw, fetched again if it moved on
      const url = `/api/v1/reports/${item.report_id}/actions`;
      let answer = await post(url, formOf(item, { action: "confirm", version: item.version }), csrf, progress);
      if (answer.status === 409 && answer.body.current_version) {
        answer = await post(url, formOf(item, { action: "confirm", version: answer.body.current_version }), csrf, progress);
      }
      return answer;
    }
    if (item.kind === "visit") return post("/api/v1/visits", formOf(item, {}), csrf, progress);
    return post("/api/v1/reports", formOf(item, {}), csrf, progress);
  }

  async function session() {
    const r = await fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" });
    return r.ok ? r.json() : null;
  }

  let running = null;
  /* Send what waits, oldest first; stops at the first sign the network (or the server) is not
     there, and tries again on the next trigger. Resolves to what happened. */
  function flush(opts) {
    if (!running) running = doFlush(opts || {}).finally(() => { running = null; notify(); });
    return running;
  }

  async function doFlush(opts) {
    const waiting = (await all()).filter((i) => i.state === "waiting");
    if (!waiting.length) return { sent: 0 };
    let who;
    try { who = await session(); } catch (e) { return { offline: true, sent: 0 }; }
    if (!who) return { loggedOut: true, sent: 0 };
    let count = 0;
    for (const item of waiting) {
      if (item.user !== who.user) continue;  // someone else's: only they send it
      let answer;
      try {
        answer = await send(item, who.csrf_token, opts.onProgress);
      } catch (e) {
        return { offline: true, sent: count };
      }
      if (answer.status === 200 || answer.status === 201) {
        await markSent(item, answer.body);
        count += 1;
      } else if (answer.status >= 500 || [0, 401, 408, 429].includes(answer.status)) {
        return { retryLater: true, sent: count };  // not the report's fault: it waits
      } else {
        const d = await db();
        await d.put(OUTBOX, { ...item, state: "failed", status: answer.status, attempts: item.attempts + 1,
          error: answer.body.error || `HTTP ${answer.status}` });
      }
    }
    return { sent: count };
  }

  /* Ask the browser to wake the service worker when the network is back (Background Sync). */
  function requestSync() {
    if (!scope.navigator || !scope.navigator.serviceWorker) return Promise.resolve(false);
    return scope.navigator.serviceWorker.ready
      .then((r) => (r.sync ? r.sync.register(SYNC_TAG).then(() => true) : false))
      .catch(() => false);
  }

  scope.GridWatchOutbox = { add, all, remove, retry, sent, flush, requestSync, SYNC_TAG };
})(self);
