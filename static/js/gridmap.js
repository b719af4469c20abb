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
        if (opts.onClick) l.on("click", () => opts.onClick(p));
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

  GW.STATUS_COLOURS = {
    reported: "#6baed6", accepted: "#4292c6", opened: "#2171b5", dispatched: "#fd8d3c",
    handled: "#a1d99b", verified: "#41ab5d", closed: "#969696", voided: "#d9d9d9",
  };

  /* Report pins in the viewport, clustered; popups are built from text nodes (user data). */
  GW.reportLayer = function (map, opts, filters) {
    const container = map.getContainer();
    // pins get their own pane above the grids, whichever layer happens to reload last
    if (!map.getPane("reports")) map.createPane("reports").style.zIndex = 450;
    const cluster = L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 18 }).addTo(map);
    let pending = null;
    function popup(p) {
      const box = document.createElement("div");
      box.className = "gw-popup";
      const title = document.createElement("a");
      title.href = opts.caseUrl.replace(/0$/, String(p.id));
      title.textContent = `#${p.id} ${p.category}`;
      box.appendChild(title);
      box.appendChild(GW.textNode("div", `${p.status}${p.overdue ? " · overdue" : ""} · ${p.grid || "unassigned"}`, "small text-muted"));
      box.appendChild(GW.textNode("div", p.description, "gw-description"));
      return box;
    }
    function load() {
      if (pending) pending.abort();
      pending = new AbortController();
      const b = map.getBounds();
      const params = new URLSearchParams(filters());
      params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(","));
      fetch(`${opts.reportsUrl}?${params}`, { credentials: "same-origin", signal: pending.signal })
        .then((r) => r.json())
        .then((fc) => {
          cluster.clearLayers();
          const markers = fc.features.map((f) => {
            const p = f.properties;
            const [lon, lat] = f.geometry.coordinates;
            return L.circleMarker([lat, lon], {
              pane: "reports", radius: 7, weight: p.overdue ? 3 : 1, color: p.overdue ? "#d7301f" : "#333",
              fillColor: GW.STATUS_COLOURS[p.status] || "#999", fillOpacity: 0.9,
            }).bindPopup(() => popup(p));
          });
          cluster.addLayers(markers);
          container.dataset.pinsLoaded = String(markers.length);
        })
        .catch((err) => { if (err.name !== "AbortError") container.dataset.pinsError = String(err); });
    }
    map.on("moveend", load);
    load();
    return { layer: cluster, reload: load };
  };

  GW.legend = function (map) {
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => {
      const box = L.DomUtil.create("div", "gw-legend");
      box.appendChild(GW.textNode("strong", "Grids"));
      for (const [colour, label] of [["#d7301f", "overdue cases"], ["#fc8d59", "3+ open"], ["#fdcc8a", "1-2 open"], ["#74c476", "no open case"]]) {
        const row = GW.textNode("div", label);
        row.prepend(Object.assign(document.createElement("i"), { style: `background:${colour}` }));
        box.appendChild(row);
      }
      box.appendChild(GW.textNode("strong", "Reports"));
      for (const [status, colour] of Object.entries(GW.STATUS_COLOURS)) {
        const row = GW.textNode("div", status);
        row.prepend(Object.assign(document.createElement("i"), { style: `background:${colour};border-radius:50%` }));
        box.appendChild(row);
      }
      return box;
    };
    legend.addTo(map);
  };

  /* Bars of the last 12 weeks, as a tiny SVG: supervisors look, they do not read. */
  GW.sparkBars = function (values) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const max = Math.max(1, ...values);
    svg.setAttribute("viewBox", `0 0 ${values.length * 10} 40`);
    svg.setAttribute("class", "gw-spark");
    values.forEach((v, i) => {
      const h = (36 * v) / max;
      const bar = document.createElementNS(ns, "rect");
      Object.entries({ x: i * 10 + 1, y: 38 - h, width: 8, height: Math.max(h, 0.5), fill: "#3182bd" })
        .forEach(([k, val]) => bar.setAttribute(k, val));
      const title = document.createElementNS(ns, "title");
      title.textContent = `${v} report(s), ${values.length - i - 1} week(s) ago`;
      bar.appendChild(title);
      svg.appendChild(bar);
    });
    return svg;
  };

  GW.gridPanel = function (opts) {
    const panel = document.getElementById("grid-panel");
    return function (props) {
      fetch(opts.gridUrl.replace("CODE", encodeURIComponent(props.code)), { credentials: "same-origin" })
        .then((r) => r.json())
        .then((g) => {
          panel.replaceChildren();
          const close = GW.textNode("button", "×", "btn-close float-end");
          close.setAttribute("aria-label", "close");
          close.onclick = () => panel.classList.add("d-none");
          panel.appendChild(close);
          panel.appendChild(GW.textNode("h2", g.name, "h6 mb-0"));
          panel.appendChild(GW.textNode("div", `${g.code} · ${g.community || ""} · ${g.street || ""}`, "small text-muted mb-2"));
          const facts = [
            ["Grid worker", g.workers || "none assigned"], ["Buildings", g.buildings],
            ["Households", g.households], ["Open cases", g.open], ["Overdue", g.overdue],
            ["Last patrol", g.last_patrol ? g.last_patrol.slice(0, 16).replace("T", " ") : "none recorded"],
          ];
          const dl = document.createElement("dl");
          dl.className = "row small mb-1";
          for (const [k, v] of facts) { dl.appendChild(GW.textNode("dt", k, "col-6")); dl.appendChild(GW.textNode("dd", v, "col-6 mb-0")); }
          panel.appendChild(dl);
          panel.appendChild(GW.textNode("div", "Reports per week, last 12 weeks", "small"));
          panel.appendChild(GW.sparkBars(g.weekly));
          const link = GW.textNode("a", "Open cases in this grid →", "small d-block mt-1");
          link.href = `/cases?status=open&grid=${encodeURIComponent(g.code)}`;
          panel.appendChild(link);
          panel.classList.remove("d-none");
          panel.dataset.grid = g.code;
        });
    };
  };

  GW.supervisorMap = function (map, opts) {
    GW.map = map;  // for the console and the browser tests
    if (!map.options.maxZoom) map.setMaxZoom(20);  // clustering needs it when there is no basemap
    const form = document.getElementById("map-filters");
    const filters = () => Object.fromEntries(Array.from(new FormData(form)).filter(([, v]) => v));
    GW.areaLayer(map, { url: opts.gridsUrl, onClick: GW.gridPanel(opts) });
    const reports = GW.reportLayer(map, opts, filters);
    form.addEventListener("change", reports.reload);
    GW.legend(map);
  };
})(window.GridWatch);
