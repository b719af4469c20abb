/* The grid worker's report page. Built for a cheap phone on a weak signal:
   - the pin's grid is looked up as it moves, so the worker sees where the report will go;
   - open reports of the same kind near the pin are offered first ("is it one of these?"): the
     worker may confirm one (我也看到了) instead of reporting it again;
   - photos are made small on the phone (at most 1600 px, JPEG) before anything is sent;
   - a report is kept on the phone first (outbox.js) and sent from there: without signal it waits,
     through reloads and restarts, and goes exactly once when the network is back. */
(function (GW, Outbox) {
  const $ = (id) => document.getElementById(id);
  const mapEl = $("report-map");
  const user = Number(document.querySelector('meta[name="gw-user"]').content);
  const map = L.map(mapEl, { zoomControl: true });
  if (mapEl.dataset.basemap) L.tileLayer(mapEl.dataset.basemap, { maxZoom: 19 }).addTo(map);
  const extent = JSON.parse(mapEl.dataset.extent || "null");
  if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  else map.setView([35, 105], 4);
  GW.areaLayer(map, { url: mapEl.dataset.gridsUrl });  // grid outlines, when the network has them
  GW.map = map;  // for the console and the browser tests
  mapEl.dataset.ready = "";  // the pin can be placed from here on
  performance.mark("gw-pin-ready");

  let pin = null;
  const where = $("pin-where");

  const uuid4 = GW.uuid4;

  function place(latlng) {
    if (!pin) {
      pin = L.marker(latlng, { draggable: true }).addTo(map);
      pin.on("dragend", () => { locate(pin.getLatLng()); lookNearby(); });
    } else pin.setLatLng(latlng);
    locate(latlng);
    lookNearby();
    $("send").disabled = false;
    mapEl.dataset.pinned = "";
  }

  function locate(latlng) {
    where.textContent = _t("Finding the grid…");
    fetch(`/api/v1/grids/locate?lon=${latlng.lng}&lat=${latlng.lat}`, { credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        where.textContent = ok
          ? `${body.grid.name} ${body.grid.code} · ${body.community.name} · ${body.street.name}` +
            (body.assignment === "nearest" ? _t(" (nearest grid, %(distance)s m)", { distance: body.distance_m }) : "")
          : body.error;
        where.className = "small mb-2 " + (ok ? "text-success" : "text-warning");
        mapEl.dataset.grid = ok ? body.grid.code : "";
      })
      .catch(() => { where.textContent = _t("No network: the grid will be found when the report is sent."); });
  }

  map.on("click", (e) => place(e.latlng));
  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(
      (pos) => { if (!pin) { const ll = L.latLng(pos.coords.latitude, pos.coords.longitude); map.setView(ll, 17); place(ll); } },
      () => {}, { enableHighAccuracy: true, timeout: 10000 });
  }

  // two-level category picker
  const group = $("cat-group"), category = $("category");
  for (const g of window.GW_CATEGORIES) group.add(new Option(g.name, g.code));
  function fillLeaves() {
    category.length = 0;
    const g = window.GW_CATEGORIES.find((x) => x.code === group.value);
    for (const c of g.children) category.add(new Option(c.name, c.code));
  }
  group.addEventListener("change", () => { fillLeaves(); lookNearby(); });
  category.addEventListener("change", lookNearby);
  fillLeaves();

  const EXIF_HEAD_BYTES = 128 * 1024;

  const photos = () => Promise.all(Array.from($("photos").files).slice(0, 3).map((f) => GW.shrinkPhoto(f)));

  // a photo's EXIF GPS, offered as the place (from the original file, before it is made small)
  $("photos").addEventListener("change", () => {
    const file = $("photos").files[0];
    const count = $("photos").files.length;
    $("photo-count").textContent = count ? _t("%(count)s photo(s) chosen (up to 3 are sent)", { count }) : "";
    $("use-photo-gps").classList.add("d-none");
    if (!file) return;
    // only the photo's head: EXIF sits in its first 64 KB, and on a weak signal the whole photo
    // would hold up the report itself (the server reads no further than the header)
    const fd = new FormData(); fd.append("photo", file.slice(0, EXIF_HEAD_BYTES, file.type), file.name);
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    fetch("/api/v1/photos/location", { method: "POST", body: fd, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then((r) => (r.ok ? r.json() : null))
      .then((gps) => {
        if (!gps) return;
        const btn = $("use-photo-gps");
        btn.classList.remove("d-none");
        btn.onclick = () => { const ll = L.latLng(gps.lat, gps.lon); map.setView(ll, 17); place(ll); };
      })
      .catch(() => {});
  });

  /* "Is it one of these?": open reports of the same group within 50 m from the last 7 days. */
  let nearbyAsked = null;
  function lookNearby() {
    const box = $("nearby");
    if (!pin || !category.value) return;
    const ll = pin.getLatLng();
    const url = `/api/v1/reports/nearby?lon=${ll.lng}&lat=${ll.lat}&category=${encodeURIComponent(category.value)}`;
    nearbyAsked = url;
    fetch(url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : { reports: [] }))
      .then((body) => { if (nearbyAsked === url) showNearby(box, body.reports); })
      .catch(() => showNearby(box, []));
  }

  function showNearby(box, reports) {
    box.replaceChildren();
    box.classList.toggle("d-none", !reports.length);
    box.dataset.count = String(reports.length);
    if (!reports.length) return;
    box.appendChild(GW.textNode("div", _t("Is it one of these? Reported nearby in the last 7 days:"), "small fw-semibold mb-1"));
    for (const r of reports) {
      const row = document.createElement("div");
      row.className = "d-flex gap-2 align-items-center border rounded p-1 mb-1 gw-nearby";
      row.dataset.id = String(r.id);
      if (r.thumbnail) {
        const img = Object.assign(document.createElement("img"), { src: r.thumbnail, alt: _t("photo %(n)s", { n: 1 }), loading: "lazy" });
        img.className = "gw-thumb";
        row.appendChild(img);
      }
      const text = document.createElement("div");
      text.className = "small flex-grow-1";
      const link = GW.textNode("a", `#${r.id} ${r.category_name}`);
      link.href = r.url;
      text.appendChild(link);
      const away = _t("%(distance)s m away", { distance: Math.round(r.distance_m) });
      text.appendChild(GW.textNode("div", [GW_TIME(r.created_at), r.status_name, away].join(" · "), "text-muted"));
      if (r.confirmations) text.appendChild(GW.textNode("div", _t("%(count)s confirmed it", { count: r.confirmations }), "text-muted"));
      row.appendChild(text);
      const seen = GW.textNode("button", _t("I saw it too"), "btn btn-outline-primary");
      seen.type = "button";
      seen.onclick = () => confirmCase(r, seen);
      row.appendChild(seen);
      box.appendChild(row);
    }
  }

  async function confirmCase(r, button) {
    button.disabled = true;
    const ll = pin.getLatLng();
    await Outbox.add({ client_id: uuid4(), kind: "confirm", user, report_id: r.id, version: r.version,
      label: _t("Confirmation of case %(id)s", { id: r.id }),
      fields: { note: $("description").value, lon: ll.lng, lat: ll.lat }, photos: await photos() });
    clearForm();
    Outbox.flush({ onProgress }).then(afterFlush);
  }

  function clearForm() {
    $("description").value = "";
    $("photos").value = "";
    $("photo-count").textContent = "";
    showNearby($("nearby"), []);
  }

  /* What waits on the phone, what failed and why, and what was sent last. */
  const progress = {};
  function onProgress(item, share) {
    progress[item.client_id] = share;
    render();
  }
  async function render() {
    const items = (await Outbox.all()).filter((i) => i.user === user);
    const waiting = items.filter((i) => i.state === "waiting");
    const failed = items.filter((i) => i.state === "failed");
    const box = $("outbox");
    box.replaceChildren();
    box.dataset.waiting = String(waiting.length);
    box.dataset.failed = String(failed.length);
    if (waiting.length) {
      box.appendChild(GW.textNode("div", _t("%(count)s waiting to send", { count: waiting.length }), "fw-semibold text-warning"));
    }
    for (const item of items) {
      const row = document.createElement("div");
      row.className = `border rounded p-2 mb-1 gw-outbox-${item.state}`;
      const what = item.kind === "report" ? `${item.category_name || ""} ${item.fields.description || ""}` : item.label;
      row.appendChild(GW.textNode("div", what, "small"));
      const share = progress[item.client_id];
      const state = item.state === "failed"
        ? _t("Not accepted: %(why)s", { why: item.error })
        : share != null && share < 1 ? _t("Sending… %(percent)s", { percent: `${Math.round(100 * share)} %` }) : _t("Waiting for signal");
      row.appendChild(GW.textNode("div", state, item.state === "failed" ? "small text-danger" : "small text-muted"));
      if (item.state === "failed") {
        const drop = GW.textNode("button", _t("Delete"), "btn btn-sm btn-outline-danger mt-1");
        drop.type = "button";
        drop.onclick = () => Outbox.remove(item.client_id);
        row.appendChild(drop);
      }
      box.appendChild(row);
    }
    const last = (await Outbox.sent()).filter((s) => s.user === user && s.kind !== "visit").slice(0, 3);
    for (const s of last) {
      const row = document.createElement("div");
      row.className = "small text-success";
      const link = GW.textNode("a", _t("case %(id)s", { id: s.id }));
      link.href = `/cases/${s.id}`;
      const tail = s.kind === "confirm" ? _t("confirmed.") : s.grid ? _t("in %(grid)s.", { grid: s.grid }) : _t("in the unassigned queue.");
      row.append(_t("Sent:") + " ", link, " " + tail);
      box.appendChild(row);
    }
  }
  function afterFlush(result) {
    if (result && (result.offline || result.retryLater)) Outbox.requestSync();
    if (result && result.loggedOut) $("result").textContent = _t("Log in again to send what waits.");
    render();
  }

  $("report-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pin) return;
    $("send").disabled = true;
    const ll = pin.getLatLng();
    await Outbox.add({
      client_id: uuid4(), kind: "report", user, category_name: category.selectedOptions[0].text,
      fields: { lon: ll.lng, lat: ll.lat, category: category.value, description: $("description").value, channel: "app" },
      photos: await photos(),
    });
    clearForm();
    $("result").textContent = _t("Kept on the phone; it is sent as soon as there is signal.");
    $("send").disabled = false;
    Outbox.flush({ onProgress }).then(afterFlush);
  });

  // what waits goes when the network is back, when the page opens, and every 30 s
  window.addEventListener("gw-outbox", render);
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener("message", (e) => { if (e.data === "gw-outbox") render(); });
  window.addEventListener("online", () => Outbox.flush({ onProgress }).then(afterFlush));
  setInterval(() => { if (navigator.onLine) Outbox.flush({ onProgress }).then(afterFlush); }, 30000);
  render().then(() => Outbox.flush({ onProgress }).then(afterFlush));
})(window.GridWatch, window.GridWatchOutbox);
