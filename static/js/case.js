/* The case page's map: the case's pin inside its grid's outline (drawn bold), the neighbouring
   grids around it, and the basemap when one is configured. */
(function (GW) {
  const el = document.getElementById("case-map");
  if (!el) return;
  GW.shiftToGcj02 = el.dataset.basemapCrs === "gcj02" && typeof gcoord !== "undefined";
  const at = GW.toLatLng([parseFloat(el.dataset.lon), parseFloat(el.dataset.lat)]);
  const map = L.map(el, { maxZoom: 20 }).setView(at, 17);
  if (el.dataset.basemap) {
    L.tileLayer(el.dataset.basemap, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
  }
  let fitted = false;
  const grids = GW.areaLayer(map, {
    url: el.dataset.gridsUrl,
    mine: new Set(el.dataset.grid ? [el.dataset.grid] : []),
    onLoad: () => {
      // the first time the case's grid arrives, the map frames it (the pin stays inside)
      grids.eachLayer((l) => {
        if (!fitted && l.feature.properties.code === el.dataset.grid) {
          fitted = true;
          map.fitBounds(l.getBounds().extend(at), { padding: [16, 16], maxZoom: 18 });
        }
      });
      el.dataset.gridDrawn = String(!!el.querySelector("path.gw-mine"));
    },
  });
  if (!map.getPane("reports")) map.createPane("reports").style.zIndex = 450;
  L.circleMarker(at, { pane: "reports", radius: 9, weight: 3, color: "#fff", fillColor: "#d7301f", fillOpacity: 1 })
    .addTo(map);
  GW.map = map;
})(window.GridWatch);

/* The action form: how many photos are chosen, and for "verified on site" where the verifier
   stands (sent with the form; the server refuses it farther than VERIFY_RADIUS_M). */
(function () {
  const form = document.getElementById("actions");
  if (!form) return;
  const photos = document.getElementById("step-photos");
  if (photos) {
    photos.addEventListener("change", () => {
      document.getElementById("step-photo-count").textContent = photos.files.length
        ? _t("%(count)s photo(s) chosen (up to 3 are sent)", { count: photos.files.length }) : "";
    });
  }
  // a ready-made note (常用语): one tap fills the note, which stays editable
  const templates = document.getElementById("reply-templates");
  if (templates) {
    templates.addEventListener("change", () => {
      if (templates.value) document.getElementById("note").value = templates.value;
    });
  }
  const here = document.getElementById("here");
  if (!here || !navigator.geolocation) return;
  const report = [parseFloat(form.dataset.lat), parseFloat(form.dataset.lon)];
  const radius = parseFloat(form.dataset.radius);
  navigator.geolocation.watchPosition((pos) => {
    document.getElementById("here-lon").value = pos.coords.longitude;
    document.getElementById("here-lat").value = pos.coords.latitude;
    const metres = Math.round(L.latLng(report).distanceTo(L.latLng(pos.coords.latitude, pos.coords.longitude)));
    here.textContent = _t("You are %(distance)s m from the report (verifying needs %(radius)s m or less).",
      { distance: metres, radius: Math.round(radius) });
    here.className = `small mb-2 ${metres <= radius ? "text-success" : "text-danger"}`;
    form.dataset.distance = String(metres);
  }, () => { here.textContent = _t("No position: allow the phone to share it to verify on site."); },
  { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 });
})();
