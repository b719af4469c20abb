/* The grid worker's report page. Built for a cheap phone on a weak signal:
   - the pin's grid is looked up as it moves, so the worker sees where the report will go;
   - each report gets a client_id once, and a failed send is retried with the same id, so the
     server never makes a duplicate however often the network drops. */
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const mapEl = $("report-map");
  const map = L.map(mapEl, { zoomControl: true });
  if (mapEl.dataset.basemap) L.tileLayer(mapEl.dataset.basemap, { maxZoom: 19 }).addTo(map);
  const extent = JSON.parse(mapEl.dataset.extent || "null");
  if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  else map.setView([35, 105], 4);
  GridWatch.areaLayer(map, { url: mapEl.dataset.gridsUrl });  // grid outlines, even offline

  let pin = null;
  let clientId = null;
  const where = $("pin-where");

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function place(latlng) {
    if (!pin) {
      pin = L.marker(latlng, { draggable: true }).addTo(map);
      pin.on("dragend", () => locate(pin.getLatLng()));
    } else pin.setLatLng(latlng);
    locate(latlng);
    $("send").disabled = false;
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
  group.addEventListener("change", fillLeaves);
  fillLeaves();

  // a photo's EXIF GPS, offered as the place
  $("photos").addEventListener("change", () => {
    const file = $("photos").files[0];
    const count = $("photos").files.length;
    $("photo-count").textContent = count ? _t("%(count)s photo(s) chosen (up to 3 are sent)", { count }) : "";
    $("use-photo-gps").classList.add("d-none");
    if (!file) return;
    const fd = new FormData(); fd.append("photo", file);
    fetch("/api/v1/photos/location", { method: "POST", body: fd, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then((r) => (r.ok ? r.json() : null))
      .then((gps) => {
        if (!gps) return;
        const btn = $("use-photo-gps");
        btn.classList.remove("d-none");
        btn.onclick = () => { const ll = L.latLng(gps.lat, gps.lon); map.setView(ll, 17); place(ll); };
      });
  });

  function send(attempt) {
    const ll = pin.getLatLng();
    const fd = new FormData();
    fd.append("lon", ll.lng); fd.append("lat", ll.lat);
    fd.append("category", category.value);
    fd.append("description", $("description").value);
    fd.append("client_id", clientId);
    fd.append("channel", "app");
    for (const f of Array.from($("photos").files).slice(0, 3)) fd.append("photos", f);
    return fetch("/api/v1/reports", { method: "POST", body: fd, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then((r) => r.json().then((body) => ({ status: r.status, body })))
      .catch(() => {
        if (attempt >= 5) throw new Error("offline");
        $("result").textContent = _t("Weak signal, retrying (%(attempt)s)…", { attempt });
        return new Promise((res) => setTimeout(res, 1500 * attempt)).then(() => send(attempt + 1));
      });
  }

  $("report-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!pin) return;
    if (!clientId) clientId = uuid4();
    $("send").disabled = true;
    const result = $("result");
    result.className = "mt-2 small";
    result.textContent = _t("Sending…");
    send(1).then(({ status, body }) => {
      if (status === 201 || status === 200) {
        const link = document.createElement("a");
        link.href = `/cases/${body.id}`;
        link.textContent = _t("case %(id)s", { id: body.id });
        const where = body.grid ? _t("in %(grid)s.", { grid: body.grid.name }) : _t("in the unassigned queue.");
        result.replaceChildren(_t("Sent:") + " ", link, " " + where);
        result.classList.add("text-success");
        clientId = null;  // the next report is a new one
        $("description").value = "";
        $("photos").value = "";
        $("photo-count").textContent = "";
      } else {
        result.textContent = body.error || _t("Refused (%(status)s)", { status });
        result.classList.add("text-danger");
      }
    }).catch(() => {
      result.textContent = _t("Not sent: no network. Press Send again when you have signal — it will not be sent twice.");
      result.classList.add("text-danger");
    }).finally(() => { $("send").disabled = false; });
  });
})();
