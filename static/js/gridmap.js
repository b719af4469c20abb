/* GridWatch map layers: areas fetched by viewport from the bbox endpoint as the map moves.
   Names are user data: they go into the page as text, never as HTML. */
window.GridWatch = window.GridWatch || {};

(function (GW) {
  GW.textNode = function (tag, text, className) {
    const el = document.createElement(tag);
    el.textContent = text == null ? "" : String(text);
    if (className) el.className = className;
    return el;
  };

  GW.colourFor = function (props) {
    if (props.overdue > 0) return "#d7301f";
    if (props.open >= 3) return "#fc8d59";
    if (props.open > 0) return "#fdcc8a";
    return "#74c476";
  };

  GW.areaLayer = function (map, opts) {
    const container = map.getContainer();
    const layer = L.geoJSON(null, {
      style: (f) => ({ color: "#2c3e50", weight: 1, fillColor: GW.colourFor(f.properties), fillOpacity: 0.45 }),
      onEachFeature: (f, l) => {
        const p = f.properties;
        const tip = document.createElement("div");
        tip.appendChild(GW.textNode("strong", p.name));
        tip.appendChild(GW.textNode("div", p.code, "text-muted small"));
        tip.appendChild(GW.textNode("div", `open ${p.open} · overdue ${p.overdue}`, "small"));
        l.bindTooltip(tip, { sticky: true });
      },
    }).addTo(map);
    let pending = null;
    function load() {
      if (pending) pending.abort();
      pending = new AbortController();
      const b = map.getBounds();
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
      fetch(`${opts.url}?bbox=${bbox}&zoom=${map.getZoom()}`, { credentials: "same-origin", signal: pending.signal })
        .then((r) => r.json())
        .then((fc) => {
          layer.clearLayers();
          layer.addData(fc);
          container.dataset.gridsLoaded = String(fc.features.length);
        })
        .catch((err) => { if (err.name !== "AbortError") container.dataset.gridsError = String(err); });
    }
    map.on("moveend", load);
    load();
    return layer;
  };
})(window.GridWatch);
