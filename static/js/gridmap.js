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

  /* When the basemap is GCJ-02 (AMap, Tencent), our WGS 84 overlays are shifted onto it
     (gcoord, from npm) and the viewport is shifted back before it is sent to the server. */
  GW.shiftToGcj02 = false;
  GW.toLatLng = function (coords) {
    const [lon, lat] = GW.shiftToGcj02 ? gcoord.transform([coords[0], coords[1]], gcoord.WGS84, gcoord.GCJ02) : coords;
    return L.latLng(lat, lon);
  };
  GW.bboxOf = function (map) {
    const b = map.getBounds();
    let corners = [[b.getWest(), b.getSouth()], [b.getEast(), b.getNorth()]];
    if (GW.shiftToGcj02) corners = corners.map((c) => gcoord.transform(c, gcoord.GCJ02, gcoord.WGS84));
    return [corners[0][0], corners[0][1], corners[1][0], corners[1][1]].map((v) => v.toFixed(6)).join(",");
  };

  /* A GeoJSON layer refetched for the viewport whenever the map moves; ``params()`` adds filters. */
  GW.viewportLayer = function (map, opts) {
    const container = map.getContainer();
    const layer = L.geoJSON(null, { style: opts.style, onEachFeature: opts.onEachFeature, pane: opts.pane,
      pointToLayer: opts.pointToLayer, coordsToLatLng: GW.toLatLng }).addTo(map);
    let pending = null;
    function load() {
      if (pending) pending.abort();
      pending = new AbortController();
      const url = new URL(opts.url, window.location.href);  // the url may carry its own query
      for (const [k, v] of Object.entries(opts.params ? opts.params() : {})) url.searchParams.set(k, v);
      url.searchParams.set("bbox", GW.bboxOf(map));
      url.searchParams.set("zoom", map.getZoom());
      fetch(url, { credentials: "same-origin", signal: pending.signal })
        .then((r) => r.json())
        .then((fc) => {
          layer.clearLayers();
          layer.addData(fc);
          container.dataset[`${opts.name}Loaded`] = String(fc.features.length);
          if (fc.level) container.dataset[`${opts.name}Level`] = fc.level;
          if (opts.onLoad) opts.onLoad(fc, url);
        })
        .catch((err) => { if (err.name !== "AbortError") container.dataset[`${opts.name}Error`] = String(err); });
    }
    map.on("moveend", load);
    load();
    const remove = () => { map.off("moveend", load); if (pending) pending.abort(); map.removeLayer(layer); };
    return { layer, reload: load, remove };
  };

  /* Building footprints from zoom ``opts.buildingsZoom``: the vector tiles (/tiles/buildings),
     which the browser keeps, so a view panned back costs nothing on a weak signal; drawn as SVG,
     so a tap between two buildings still reaches the grid beneath. On a GCJ-02 basemap every
     vertex must be shifted, which tiles cannot be: there the viewport's GeoJSON. */
  GW.buildingLayer = function (map, opts) {
    if (!map.getPane("buildings")) map.createPane("buildings").style.zIndex = 430;
    const style = { color: "#636363", weight: 1, fill: true, fillColor: "#969696", fillOpacity: 0.5 };
    const building = _t("building");
    const describe = (p) => GW.textNode("div", _t("%(name)s · %(households)s households",
      { name: p.name || building, households: p.households ?? "?" }));
    if (GW.shiftToGcj02 || !L.vectorGrid) {
      return GW.viewportLayer(map, { name: "buildings", url: opts.buildingsUrl, pane: "buildings",
        style: () => style, onEachFeature: (f, l) => l.bindTooltip(describe(f.properties)) });
    }
    const container = map.getContainer();
    container.dataset.buildingsFrom = "tiles";
    // 512-px tiles a zoom lower: a view is about 9 requests, not 30 (each still 4096 units across,
    // finer than its pixels). VectorGrid ignores zoomOffset; Leaflet's URL template calls a function.
    const tiles = L.vectorGrid.protobuf(opts.buildingTilesUrl.replace("{z}", "{zoomBelow}"), {
      zoomBelow: (d) => d.z - 1,
      pane: "buildings", tileSize: 512, maxNativeZoom: 18, interactive: true,
      rendererFactory: L.svg.tile, vectorTileLayerStyles: { buildings: style },
      fetchOptions: { credentials: "same-origin" },
    });
    const tip = L.tooltip({ sticky: true });
    tiles.on("mouseover click", (e) => tip.setLatLng(e.latlng).setContent(describe(e.layer.properties)).openOn(map));
    tiles.on("mouseout", () => map.closeTooltip(tip));
    // how many footprints the tiles in view hold (a page or a test can tell they came)
    tiles.on("load", () => {
      const drawn = container.querySelectorAll(".leaflet-buildings-pane path").length;
      container.dataset.buildingsLoaded = String(drawn);
    });
    // in a group that takes the tiles in from their zoom on (a layer's own minZoom would become
    // the map's: Leaflet bounds the map's zoom by its layers')
    const layer = L.layerGroup().addTo(map);
    const byZoom = () => (map.getZoom() >= opts.buildingsZoom ? layer.addLayer(tiles) : layer.removeLayer(tiles));
    map.on("zoomend", byZoom);
    byZoom();
    return { layer, reload: () => tiles.redraw(), remove: () => { map.off("zoomend", byZoom); map.removeLayer(layer); } };
  };

  /* Areas coloured by ``opts.colour(props)`` (open/overdue cases by default), with a tooltip. */
  GW.areaLayer = function (map, opts) {
    const colour = opts.colour || GW.colourFor;
    const describe = opts.describe || ((p) => [GW.openOverdue(p)]);
    const describeLevel = (p) => (p.level && p.level !== "grid"
      ? [_t("%(level)s: tap to zoom in to its grids", { level: GW_NAME("level", p.level) })] : []);
    return GW.viewportLayer(map, {
      name: "grids", url: opts.url, onLoad: opts.onLoad,
      style: (f) => (opts.mine && opts.mine.has(f.properties.code)
        ? { color: "#08519c", weight: 4, fillColor: colour(f.properties), fillOpacity: 0.55, className: "gw-mine" }
        : { color: "#2c3e50", weight: 1, fillColor: colour(f.properties), fillOpacity: opts.mine ? 0.2 : 0.45 }),
      onEachFeature: (f, l) => {
        const p = f.properties;
        const tip = document.createElement("div");
        tip.appendChild(GW.textNode("strong", p.name));
        tip.appendChild(GW.textNode("div", p.code, "text-muted small"));
        for (const line of [...describe(p), ...describeLevel(p)]) tip.appendChild(GW.textNode("div", line, "small"));
        l.bindTooltip(tip, { sticky: true });
        if (opts.onClick) l.on("click", () => opts.onClick(p, l));
      },
    }).layer;
  };

  GW.openOverdue = (p) => _t("open %(open)s · overdue %(overdue)s", { open: p.open, overdue: p.overdue });

  GW.STATUS_COLOURS = {
    reported: "#6baed6", accepted: "#4292c6", opened: "#2171b5", dispatched: "#fd8d3c",
    handled: "#a1d99b", verified: "#41ab5d", closed: "#969696", voided: "#d9d9d9",
  };

  /* 950 → "950", 1234 → "1.2k", 56789 → "57k": fits a bubble. */
  GW.shortCount = (n) => (n < 1000 ? String(n) : n < 10000 ? `${(n / 1000).toFixed(1)}k` : `${Math.round(n / 1000)}k`);

  /* Report pins in the viewport, clustered; popups are built from text nodes (user data). */
  GW.reportLayer = function (map, opts, filters) {
    const container = map.getContainer();
    // pins get their own pane above the grids, whichever layer happens to reload last
    if (!map.getPane("reports")) map.createPane("reports").style.zIndex = 450;
    const cluster = L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 18 });
    // more reports in view than the server sends as pins: one bubble per area with its count;
    // bubbles that would overlap are drawn as one, with their counts summed
    const bubbleIcon = (count, overdue) => {
      const size = Math.round(24 + 6 * Math.log10(Math.max(1, count)));
      return L.divIcon({ className: `gw-bubble${overdue ? " gw-bubble-overdue" : ""}`, iconSize: [size, size],
                         html: `<span>${GW.shortCount(count)}</span>` });
    };
    const bubbles = L.markerClusterGroup({
      maxClusterRadius: 80, showCoverageOnHover: false, clusterPane: "reports",
      iconCreateFunction: (c) => {
        const parts = c.getAllChildMarkers();
        return bubbleIcon(parts.reduce((s, m) => s + m.options.count, 0), parts.some((m) => m.options.overdue));
      },
    });
    const layer = L.layerGroup([cluster, bubbles]).addTo(map);
    let pending = null;
    function bubble(f) {
      const p = f.properties;
      const nowhere = _t("not in any grid");
      const tip = _t("%(name)s: %(count)s reports", { name: p.name || nowhere, count: p.count }) +
        (p.overdue ? _t(", %(count)s overdue", { count: p.overdue }) : "");
      return L.marker(GW.toLatLng(f.geometry.coordinates), {
        icon: bubbleIcon(p.count, p.overdue), pane: "reports", title: tip, alt: tip, count: p.count, overdue: p.overdue,
      }).on("click", (e) => map.setView(e.latlng, map.getZoom() + 2));
    }
    function popup(p) {
      const box = document.createElement("div");
      box.className = "gw-popup";
      const title = document.createElement("a");
      title.href = opts.caseUrl.replace(/0$/, String(p.id));
      title.textContent = `#${p.id} ${p.category}`;
      box.appendChild(title);
      const state = GW_NAME("status", p.status) + (p.overdue ? " · " + _t("overdue") : "");
      const grid = p.grid || _t("unassigned");
      box.appendChild(GW.textNode("div", `${state} · ${grid}`, "small text-muted"));
      box.appendChild(GW.textNode("div", p.description, "gw-description"));
      return box;
    }
    const byId = new Map();  // the pins drawn, by case id: a live change replaces its pin
    function pin(f, className) {
      const p = f.properties;
      const marker = L.circleMarker(GW.toLatLng(f.geometry.coordinates), {
        pane: "reports", radius: 7, weight: p.overdue ? 3 : 1, color: p.overdue ? "#d7301f" : "#333",
        fillColor: GW.STATUS_COLOURS[p.status] || "#999", fillOpacity: 0.9, className,
      }).bindPopup(() => popup(p));
      byId.set(p.id, marker);
      return marker;
    }
    // whether a pin belongs on the map as filtered now: true, false, or null (ask the server)
    const ENDED = new Set(["closed", "voided"]);
    function wanted(p, f) {
      const given = filters();
      if (given.status === "open" && ENDED.has(p.status)) return false;
      if (given.status && given.status !== "open" && given.status !== p.status) return false;
      if (given.channel && given.channel !== p.channel) return false;
      if (given.category || given.area || given.from || given.to) return null;
      return map.getBounds().contains(GW.toLatLng(f.geometry.coordinates));
    }
    let reloadSoon = null;
    function reloadLater() {  // many changes at once (or bubbles drawn): one fetch for them all
      clearTimeout(reloadSoon);
      reloadSoon = setTimeout(load, 1500);
    }
    /* A case reported or changed elsewhere (the live feed): its pin added, redrawn, or removed. */
    function live(f) {
      const p = f.properties;
      container.dataset.liveSeen = `${container.dataset.liveSeen || ""} ${p.id}`.trim();
      if (container.dataset.pinsAggregated) return reloadLater();
      const fits = wanted(p, f);
      if (fits === null) return reloadLater();
      const old = byId.get(p.id);
      if (old) { cluster.removeLayer(old); byId.delete(p.id); }
      if (fits) {
        cluster.addLayer(pin(f, "gw-live-pin"));
        container.dataset.livePins = `${container.dataset.livePins || ""} ${p.id}`.trim();
      }
      container.dataset.pinsLoaded = String(byId.size);
    }
    function load() {
      if (pending) pending.abort();
      pending = new AbortController();
      const params = new URLSearchParams(filters());
      params.set("bbox", GW.bboxOf(map));
      fetch(`${opts.reportsUrl}?${params}`, { credentials: "same-origin", signal: pending.signal })
        .then((r) => r.json())
        .then((fc) => {
          cluster.clearLayers();
          bubbles.clearLayers();
          container.dataset.pinsAggregated = fc.aggregated || "";
          if (fc.aggregated) {
            bubbles.addLayers(fc.features.map(bubble));
            container.dataset.pinsLoaded = "0";
            if (opts.onPins) opts.onPins(fc);
            return;
          }
          byId.clear();
          const markers = fc.features.map((f) => pin(f));
          cluster.addLayers(markers);
          container.dataset.pinsLoaded = String(markers.length);
          if (opts.onPins) opts.onPins(fc);
        })
        .catch((err) => { if (err.name !== "AbortError") container.dataset.pinsError = String(err); });
    }
    map.on("moveend", load);
    load();
    return { layer, reload: load, live };
  };


  GW.CASE_STEPS = [["#d7301f", _t("overdue cases")], ["#fc8d59", _t("3+ open")], ["#fdcc8a", _t("1-2 open")], ["#74c476", _t("no open case")]];
  /* Sequential steps: [minimum, colour, label], highest first; grey when there is no figure. */
  GW.stepColour = (steps, value) => {
    if (value == null) return "#bdbdbd";
    for (const [min, colour] of steps) if (value >= min) return colour;
    return "#bdbdbd";
  };
  const OPEN_STEPS = [[10, "#b30000", "10+"], [5, "#e34a33", "5-9"], [2, "#fc8d59", "2-4"], [1, "#fdcc8a", "1"], [0, "#fef0d9", _t("none")]];
  const OVERDUE_STEPS = [[5, "#67000d", "5+"], [2, "#cb181d", "2-4"], [1, "#fb6a4a", "1"], [0, "#fee0d2", _t("none")]];
  const PER_1000_STEPS = [[20, "#54278f", "20+"], [10, "#756bb1", "10-20"], [5, "#9e9ac8", "5-10"], [0.001, "#cbc9e2", _t("under 5")], [0, "#f2f0f7", _t("none")]];
  GW.per1000 = (p) => (p.households ? (1000 * p.open) / p.households : null);
  GW.CHOROPLETHS = {
    cases: { title: _t("Grids: cases"), legend: GW.CASE_STEPS, colour: (p) => GW.colourFor(p) },
    open: { title: _t("Grids: open cases"), legend: OPEN_STEPS.map(([, c, l]) => [c, l]), colour: (p) => GW.stepColour(OPEN_STEPS, p.open) },
    overdue: { title: _t("Grids: overdue cases"), legend: OVERDUE_STEPS.map(([, c, l]) => [c, l]), colour: (p) => GW.stepColour(OVERDUE_STEPS, p.overdue) },
    per1000: { title: _t("Open cases per 1,000 households"), legend: [...PER_1000_STEPS.map(([, c, l]) => [c, l]), ["#bdbdbd", _t("no households known")]],
      colour: (p) => GW.stepColour(PER_1000_STEPS, GW.per1000(p)) },
  };

  /* Bars of the last 12 weeks, as a tiny SVG: supervisors look, they do not read. */
  GW.sparkBars = function (values) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const max = Math.max(1, ...values);
    svg.setAttribute("viewBox", `0 0 ${values.length * 12} 50`);
    svg.setAttribute("class", "gw-spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", values.join(", "));
    const add = (tag, attrs, text) => {
      const el = document.createElementNS(ns, tag);
      Object.entries(attrs).forEach(([k, val]) => el.setAttribute(k, val));
      if (text != null) el.textContent = text;
      return el;
    };
    values.forEach((v, i) => {
      const h = (32 * v) / max;
      const bar = add("rect", { x: i * 12 + 1, y: 48 - h, width: 10, height: Math.max(h, 0.5), fill: "#3182bd" });
      bar.appendChild(add("title", {}, _t("%(count)s report(s), %(weeks)s week(s) ago", { count: v, weeks: values.length - i - 1 })));
      svg.appendChild(bar);
      // the number over its bar (none over an empty week): supervisors look, they do not hover
      if (v) svg.appendChild(add("text", { x: i * 12 + 6, y: 46 - h, "text-anchor": "middle", "font-size": 8, fill: "#333" }, String(v)));
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
          close.setAttribute("aria-label", _t("close"));
          close.onclick = () => panel.classList.add("d-none");
          panel.appendChild(close);
          panel.appendChild(GW.textNode("h2", g.name, "h6 mb-0"));
          panel.appendChild(GW.textNode("div", `${g.code} · ${g.community || ""} · ${g.street || ""}`, "small text-muted mb-2"));
          const facts = [
            [_t("Grid worker"), g.workers || _t("none assigned")], [_t("Buildings"), g.buildings],
            [_t("Households"), g.households], [_t("Open cases"), g.open], [_t("Overdue"), g.overdue],
            [_t("Last patrol"), g.last_patrol ? GW_TIME(g.last_patrol) : _t("none recorded")],
          ];
          const dl = document.createElement("dl");
          dl.className = "row small mb-1";
          for (const [k, v] of facts) { dl.appendChild(GW.textNode("dt", k, "col-6")); dl.appendChild(GW.textNode("dd", v, "col-6 mb-0")); }
          panel.appendChild(dl);
          panel.appendChild(GW.textNode("div", _t("Reports per week, last 12 weeks"), "small"));
          panel.appendChild(GW.sparkBars(g.weekly));
          const link = GW.textNode("a", _t("Open cases in this grid →"), "small d-block mt-1");
          link.href = `/cases?status=open&grid=${encodeURIComponent(g.code)}`;
          panel.appendChild(link);
          panel.classList.remove("d-none");
          panel.dataset.grid = g.code;
        });
    };
  };

  /* Coverage: share of the grid within r of a track; grey when nobody came at all. */
  GW.COVERAGE_STEPS = [[0.75, "#1a9850", _t("at least 75 %")], [0.5, "#91cf60", "50-75 %"], [0.25, "#fee08b", "25-50 %"],
    [0.000001, "#fc8d59", _t("under 25 %")], [0, "#bdbdbd", _t("nobody came")]];
  GW.coverageColour = function (share) {
    if (share == null) return "#bdbdbd";
    for (const [min, colour] of GW.COVERAGE_STEPS) if (share >= min && (min > 0 || share === 0)) return colour;
    return "#bdbdbd";
  };
  GW.pct = (v) => (v == null ? _t("no streets") : `${Math.round(v * 100)} %`);
  GW.coverageLines = function (c) {
    if (!c) return [_t("no coverage figures")];
    return [_t("area %(area)s · streets %(streets)s", { area: GW.pct(c[0]), streets: GW.pct(c[1]) }),
      _t("%(minutes)s min patrolled", { minutes: c[2] })];
  };

  GW.legendControl = function (map, title, rows, round) {
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => {
      const box = L.DomUtil.create("div", "gw-legend");
      box.appendChild(GW.textNode("strong", title));
      for (const [colour, label, ring] of rows) {  // ring: a border colour (the overdue pins' ring)
        const row = GW.textNode("div", label);
        const style = `background:${colour}${round ? ";border-radius:50%" : ""}${ring ? `;border:3px solid ${ring};box-sizing:border-box` : ""}`;
        row.prepend(Object.assign(document.createElement("i"), { style }));
        box.appendChild(row);
      }
      return box;
    };
    return legend;
  };

  GW.trackStyle = (f) => ({ color: f.properties.live ? "#e6550d" : "#3182bd", weight: 3, opacity: 0.8,
    dashArray: f.properties.timed ? null : "6 6" });
  GW.trackPopup = function (f, l) {
    const p = f.properties;
    const box = document.createElement("div");
    box.appendChild(GW.textNode("strong", p.name || _t("patrol %(id)s", { id: p.track })));
    box.appendChild(GW.textNode("div", p.worker || "", "small"));
    const span = `${GW_TIME(p.from).slice(11)}–${GW_TIME(p.to).slice(11)}` + (p.live ? " " + _t("(live)") : "");
    box.appendChild(GW.textNode("div", p.timed ? span : _t("route without times"), "small text-muted"));
    l.bindPopup(box);
  };

  /* The /coverage page: grids by coverage share, tracks, streets nobody walked. */
  GW.coverageMap = function (map, opts) {
    GW.map = map;
    GW.shiftToGcj02 = opts.basemapCrs === "gcj02" && typeof gcoord !== "undefined";
    if (!map.options.maxZoom) map.setMaxZoom(20);
    const params = () => opts.params;
    GW.areaLayer(map, { url: opts.gridsUrl, colour: (p) => GW.coverageColour((opts.shares[p.code] || [])[0]),
      describe: (p) => GW.coverageLines(opts.shares[p.code]) });
    if (!map.getPane("tracks")) map.createPane("tracks").style.zIndex = 440;
    const tracks = GW.viewportLayer(map, { name: "tracks", url: opts.tracksUrl, params, pane: "tracks",
      style: GW.trackStyle, onEachFeature: GW.trackPopup });
    const gaps = GW.viewportLayer(map, { name: "gaps", url: opts.gapsUrl, params, pane: "tracks",
      style: () => ({ color: "#d7301f", weight: 4, opacity: 0.9 }) });
    L.control.layers(null, { [_t("Patrol tracks")]: tracks.layer, [_t("Streets nobody walked")]: gaps.layer }, { collapsed: false }).addTo(map);
    GW.legendControl(map, _t("Area within r of a track"), GW.COVERAGE_STEPS.map(([, c, label]) => [c, label])).addTo(map);
  };

  GW.supervisorMap = function (map, opts) {
    GW.map = map;  // for the console and the browser tests
    GW.shiftToGcj02 = opts.basemapCrs === "gcj02" && typeof gcoord !== "undefined";
    if (!map.options.maxZoom) map.setMaxZoom(20);  // clustering needs it when there is no basemap
    const form = document.getElementById("map-filters");
    form.addEventListener("submit", (e) => e.preventDefault());
    // on a phone the filters fold into a panel behind one button, so the map keeps the screen
    const toggle = document.getElementById("filters-toggle");
    if (toggle) {
      toggle.addEventListener("click", () => {
        const open = form.classList.toggle("gw-filters-open");
        toggle.setAttribute("aria-expanded", String(open));
      });
    }
    const filters = () => Object.fromEntries(Array.from(new FormData(form)).filter(([k, v]) => v && k !== "colour" && k !== "network"));
    let shares = null;  // patrol coverage of the last 24 h, fetched when first asked for
    const mode = () => form.elements.colour.value;
    const choropleth = () => (mode() === "coverage"
      ? { title: _t("Grids: patrol coverage, 24 h"), legend: GW.COVERAGE_STEPS.map(([, c, l]) => [c, l]),
          colour: (p) => GW.coverageColour(((shares || {})[p.code] || [])[0]) }
      : GW.CHOROPLETHS[mode()] || GW.CHOROPLETHS.cases);
    const panel = GW.gridPanel(opts);
    const download = document.getElementById("download-layer");
    // a grid worker's own grids, highlighted; only theirs open a panel (the others' are not theirs to read)
    const mine = opts.mine && opts.mine.length ? new Set(opts.mine) : null;
    const grids = GW.areaLayer(map, {
      mine,
      // a community or street drawn in place of its many grids: a click zooms into it
      url: opts.gridsUrl,
      onClick: (p, l) => (p.level !== "grid" ? map.fitBounds(l.getBounds()) : !mine || mine.has(p.code) ? panel(p) : null),
      colour: (p) => choropleth().colour(p),
      describe: (p) => [GW.openOverdue(p),
        ...(p.households ? [_t("%(households)s households · %(rate)s open per 1,000", { households: p.households, rate: GW.per1000(p).toFixed(1) })] : []),
        ...(mode() === "coverage" && shares ? GW.coverageLines(shares[p.code]) : [])],
      onLoad: (fc, url) => { url.searchParams.set("download", "1"); download.href = url; },
    });
    const buildings = GW.buildingLayer(map, opts);
    const heat = L.heatLayer([], { radius: 18, blur: 15, minOpacity: 0.3 });
    // pins weigh 1; bubbles weigh their count, relative to the largest in view
    const heatPoints = (fc) => {
      const most = Math.max(1, ...fc.features.map((f) => f.properties.count || 1));
      return fc.features.map((f) => {
        const ll = GW.toLatLng(f.geometry.coordinates);
        return [ll.lat, ll.lng, fc.aggregated ? f.properties.count / most : 1];
      });
    };
    const reports = GW.reportLayer(map, { ...opts, onPins: (fc) => heat.setLatLngs(heatPoints(fc)) }, filters);
    // new pins and steps appear without a reload; the grids' colours follow a little later
    const gridsLater = GW.atMostEvery(5000, () => grids.reload());
    const wall = GW.wallFigures(document.getElementById("wall-figures")) || (() => {});
    const changed = () => { gridsLater(); wall(); };
    GW.live = GW.liveFeed(opts.liveUrl, (f) => { reports.live(f); changed(); }, () => { reports.reload(); changed(); });
    const full = document.getElementById("full-screen");
    if (full && document.documentElement.requestFullscreen) {
      full.addEventListener("click", () => document.documentElement.requestFullscreen().catch(() => {}));
    } else if (full) full.hidden = true;
    if (!map.getPane("tracks")) map.createPane("tracks").style.zIndex = 440;
    const tracks = GW.viewportLayer(map, { name: "tracks", url: opts.tracksUrl, pane: "tracks",
      style: GW.trackStyle, onEachFeature: GW.trackPopup });
    map.removeLayer(tracks.layer);  // off until asked for
    // households not visited in 30 days, per building: red where an elderly person living alone waits
    const unvisited = GW.viewportLayer(map, { name: "unvisited", url: opts.unvisitedUrl,
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5 + Math.min(8, f.properties.households), weight: 2,
        color: f.properties.red ? "#b10026" : f.properties.flagged ? "#fd8d3c" : "#636363", fillOpacity: 0.6 }),
      onEachFeature: (f, l) => {
        const box = document.createElement("div");
        const link = GW.textNode("a", f.properties.name || _t("building %(id)s", { id: f.id }));
        link.href = opts.buildingUrl.replace(/0$/, String(f.id));
        box.append(link, GW.textNode("div", _t("%(count)s household(s) not visited in 30 days, %(flagged)s flagged",
          { count: f.properties.households, flagged: f.properties.flagged })));
        l.bindPopup(box);
      } });
    if (new URLSearchParams(window.location.search).get("layer") !== "unvisited") map.removeLayer(unvisited.layer);
    L.control.layers(null, { [_t("Report pins")]: reports.layer, [_t("Heatmap of reports")]: heat, [_t("Buildings (zoom 16+)")]: buildings.layer,
      [_t("Patrol tracks (24 h)")]: tracks.layer, [_t("Households not visited (30 days)")]: unvisited.layer },
      { collapsed: true, position: "bottomleft" }).addTo(map);  // the filters cover the top
    let gridLegend = GW.legendControl(map, choropleth().title, choropleth().legend).addTo(map);
    GW.legendControl(map, _t("Reports"), [...Object.entries(GW.STATUS_COLOURS).map(([s, c]) => [c, GW_NAME("status", s)]),
      ["#fff", _t("red ring: overdue"), "#d7301f"]], true).addTo(map);
    function recolour() {
      if (mode() === "coverage" && !shares) {
        fetch(opts.coverageUrl, { credentials: "same-origin" }).then((r) => r.json()).then((c) => {
          shares = Object.fromEntries(c.grids.map((g) => [g.code, [g.area_share, g.street_share, g.minutes]]));
          recolour();
        });
        return;
      }
      grids.setStyle((f) => ({ fillColor: choropleth().colour(f.properties) }));
      map.removeControl(gridLegend);
      gridLegend = GW.legendControl(map, choropleth().title, choropleth().legend).addTo(map);
      map.getContainer().dataset.colouredBy = mode();
    }
    // another grid network (party, security grids) drawn in place of the main grids
    let network = null;
    function switchNetwork() {
      const code = form.elements.network ? form.elements.network.value : "";
      if (network) { network.remove(); network = null; }
      map.getContainer().dataset.network = code;
      if (!code) { grids.addTo(map); return; }
      map.removeLayer(grids);
      network = GW.viewportLayer(map, { name: "network", url: opts.networkUrl, params: () => ({ network: code }),
        style: () => ({ color: "#6a3d9a", weight: 2, fillColor: "#cab2d6", fillOpacity: 0.25 }),
        onEachFeature: (f, l) => l.bindTooltip(GW.textNode("div", [f.properties.name,
          ...f.properties.people.map((p) => `${GW_NAME("network_role", p.role)}: ${p.name}`)].join(" · "))) });
    }
    if (form.elements.network && form.elements.network.value) switchNetwork();
    form.addEventListener("change", (e) => (e.target.name === "colour" ? recolour()
      : e.target.name === "network" ? switchNetwork() : reports.reload()));
  };
})(window.GridWatch);
