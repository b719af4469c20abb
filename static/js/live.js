/* The live feed (Server-Sent Events, /api/v1/live): the map's pins and the dashboard's figures
   follow the cases as they are reported and change, without a reload. */
window.GridWatch = window.GridWatch || {};

(function (GW) {
  /* The live feed (Server-Sent Events): ``onReport(feature)`` for each case the viewer may open
     as it is reported or changed, ``onReload()`` when changes were missed. The browser reconnects
     by itself after a lost connection (and the view then reloads: what happened meanwhile). */
  GW.liveFeed = function (url, onReport, onReload) {
    if (!url || typeof EventSource === "undefined") return null;
    const source = new EventSource(url, { withCredentials: true });
    let opened = false;
    source.addEventListener("open", () => {
      if (opened) onReload();
      opened = true;
      document.documentElement.dataset.live = "on";
    });
    source.addEventListener("error", () => {
      document.documentElement.dataset.live = "off";
      // refused (the server's live maps are all taken): the view refreshes itself every minute
      if (source.readyState === EventSource.CLOSED) setInterval(onReload, 60000);
    });
    source.addEventListener("report", (e) => onReport(JSON.parse(e.data)));
    source.addEventListener("reload", () => onReload());
    return source;
  };

  /* The wall screen's (大屏) strip: today's figures for the viewer's area, refreshed as cases change
     (at most every 30 s) and every minute regardless (the day moves on). */
  GW.wallFigures = function (box) {
    if (!box) return;
    const today = new Date().toLocaleDateString("sv-SE", { timeZone: box.dataset.timezone });  // YYYY-MM-DD
    const cards = [["reports", _t("Reported today")], ["closed", _t("Closed today")],
      ["overdue_now", _t("Overdue now")], ["closure_rate", _t("Closure rate"), "pct"]];
    function load() {
      fetch(`${box.dataset.statsUrl}?level=district&period=${today}`, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((body) => {
          if (!body.total) return;
          box.replaceChildren(...cards.map(([key, label, kind]) => {
            const card = document.createElement("div");
            card.className = "gw-wall-card";
            card.dataset.key = key;
            const value = body.total[key];
            const big = document.createElement("div");
            big.className = "gw-wall-figure";
            big.textContent = value == null ? "—" : kind === "pct" ? `${(100 * value).toFixed(0)} %` : String(value);
            const small = document.createElement("div");
            small.textContent = label;
            card.append(big, small);
            return card;
          }));
          box.dataset.loaded = today;
        });
    }
    load();
    setInterval(load, 60000);
    return GW.atMostEvery(30000, load);
  };

  /* ``fn`` at most once per ``ms``, and once more after the last call (a burst: one refresh). */
  GW.atMostEvery = function (ms, fn) {
    let last = 0, timer = null;
    return function () {
      const wait = Math.max(0, last + ms - Date.now());
      clearTimeout(timer);
      timer = setTimeout(() => { last = Date.now(); fn(); }, wait);
    };
  };
})(window.GridWatch);
