/* /dashboard: indicators from /api/v1/stats as cards, charts and a sortable table.
   Unit names are user data: they go into the page as text, never as HTML. */
(function () {
  const root = document.getElementById("dashboard");
  const form = document.getElementById("stats-form");
  form.addEventListener("submit", (e) => e.preventDefault());  // the button loads; Enter must not reload
  const GRADE_COLOURS = { A: "#1a9850", B: "#91cf60", C: "#fee08b", D: "#fc8d59", E: "#d73027" };
  const COLUMNS = [
    ["code", _t("Code")], ["name", _t("Name")], ["reports", _t("Reports")], ["opened", _t("Opened")], ["due", _t("Due")],
    ["closed", _t("Closed")], ["closure_rate", _t("Closure rate"), "pct"], ["on_time_rate", _t("On time"), "pct"],
    ["rework_rate", _t("Rework"), "pct"], ["solved_locally_share", _t("Solved on the spot"), "pct"],
    ["median_hours", _t("Median h"), "num"], ["p90_hours", _t("p90 h"), "num"], ["overdue_now", _t("Overdue now")], ["confirmed", _t("Confirmed by others")],
    ["grade", _t("Grade")],
  ];
  const charts = {};
  let rows = [];
  let sortKey = "code", sortUp = true;

  const text = (tag, value, cls) => {
    const el = document.createElement(tag);
    el.textContent = value == null ? "—" : String(value);
    if (cls) el.className = cls;
    return el;
  };
  const show = (value, kind) => {
    if (value == null) return "—";
    if (kind === "pct") return `${(100 * value).toFixed(1)} %`;
    if (kind === "num") return value.toFixed(1);
    return value;
  };
  const query = () => new URLSearchParams(Array.from(new FormData(form)).filter(([, v]) => v));

  function kpis(total) {
    const box = document.getElementById("kpis");
    box.replaceChildren();
    const cards = [[_t("Reports"), total.reports], [_t("Closure rate"), show(total.closure_rate, "pct")],
      [_t("On-time rate"), show(total.on_time_rate, "pct")], [_t("Rework rate"), show(total.rework_rate, "pct")],
      [_t("Median hours to close"), show(total.median_hours, "num")], [_t("Overdue now"), total.overdue_now],
      [_t("Grade"), total.grade, "grade"]];
    for (const [label, value, kind] of cards) {
      const col = document.createElement("div");
      col.className = "col-6 col-md";
      const card = document.createElement("div");
      card.className = "border rounded p-2 h-100";
      card.appendChild(text("div", label, "small text-muted"));
      const big = text("div", value, "fs-4 fw-semibold");
      if (kind === "grade" && value) { big.style.color = GRADE_COLOURS[value]; big.dataset.grade = value; }
      card.appendChild(big);
      col.appendChild(card);
      box.appendChild(col);
    }
  }

  // every bar says its number (chartjs-plugin-datalabels): supervisors look, they do not hover
  const LABELS = { anchor: "end", align: "end", clamp: true, color: "#333", font: { size: 11 },
    display: (ctx) => ctx.dataset.data[ctx.dataIndex] > 0, formatter: (v) => v };
  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), {
      ...config, plugins: window.ChartDataLabels ? [window.ChartDataLabels] : [],
      options: { maintainAspectRatio: false, animation: false, layout: { padding: { right: 28, top: 16 } },
        ...config.options, plugins: { datalabels: LABELS, ...(config.options || {}).plugins } },
    });
    document.getElementById(id).dataset.drawn = String(config.data.labels.length);
  }

  // horizontal bars, one row per label and every label shown, however many there are
  const everyLabel = { ticks: { autoSkip: false, font: { size: 11 } } };
  function drawCharts(trend) {
    chart("chart-weeks", { type: "bar", data: { labels: trend.weeks.map((w) => w.week.slice(5)), datasets: [
      { label: _t("reported"), data: trend.weeks.map((w) => w.reports), backgroundColor: "#9ecae1" },
      { label: _t("closed"), data: trend.weeks.map((w) => w.closed), backgroundColor: "#3182bd" },
      { label: _t("closed on time"), data: trend.weeks.map((w) => w.on_time), type: "line", borderColor: "#1a9850",
        datalabels: { display: false } }] },
      options: { plugins: { title: { display: true, text: _t("Per week (week starting)") } } } });
    const categories = trend.by_category;
    document.getElementById("chart-categories-box").style.height = `${Math.max(220, 60 + 22 * categories.length)}px`;
    chart("chart-categories", { type: "bar", data: { labels: categories.map((c) => c.name),
      datasets: [{ label: _t("reports"), data: categories.map((c) => c.reports), backgroundColor: "#fd8d3c" }] },
      options: { indexAxis: "y", scales: { y: everyLabel },
        plugins: { legend: { display: false }, title: { display: true, text: _t("By category") } } } });
    const channels = Object.entries(trend.by_channel).sort((a, b) => b[1] - a[1]);
    chart("chart-channels", { type: "bar", data: { labels: channels.map((c) => GW_NAME("channel", c[0])),
      datasets: [{ label: _t("reports"), data: channels.map((c) => c[1]), backgroundColor: "#756bb1" }] },
      options: { indexAxis: "y", scales: { y: everyLabel },
        plugins: { legend: { display: false }, title: { display: true, text: _t("By channel") } } } });
  }

  function drawTable() {
    const table = document.getElementById("stats-table");
    const head = document.createElement("tr");
    for (const [key, label] of COLUMNS) {
      const th = text("th", label + (key === sortKey ? (sortUp ? " ▲" : " ▼") : ""));
      th.dataset.key = key;
      th.setAttribute("role", "button");
      th.setAttribute("aria-sort", key === sortKey ? (sortUp ? "ascending" : "descending") : "none");
      th.onclick = () => { sortUp = key === sortKey ? !sortUp : true; sortKey = key; drawTable(); };
      head.appendChild(th);
    }
    table.tHead.replaceChildren(head);
    const sorted = rows.slice().sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x == null) return 1;
      if (y == null) return -1;
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y), "zh");
      return sortUp ? order : -order;
    });
    table.tBodies[0].replaceChildren(...sorted.map((u) => {
      const tr = document.createElement("tr");
      for (const [key, , kind] of COLUMNS) {
        const td = text("td", show(u[key], kind));
        if (key === "grade" && u.grade) { td.style.background = GRADE_COLOURS[u.grade]; td.className = "text-center fw-bold"; }
        tr.appendChild(td);
      }
      return tr;
    }));
    if (!sorted.length) {
      const td = text("td", _t("No report in this period."), "text-muted");
      td.colSpan = COLUMNS.length;
      const tr = document.createElement("tr");
      tr.appendChild(td);
      table.tBodies[0].replaceChildren(tr);
    }
    root.dataset.rows = String(sorted.length);
  }

  function load() {
    const params = query();
    history.replaceState(null, "", `?${params}`);
    document.getElementById("export-csv").href = `${root.dataset.csvUrl}?${params}`;
    document.getElementById("export-xlsx").href = `${root.dataset.xlsxUrl}?${params}`;
    params.set("trend", "1");
    const error = document.getElementById("stats-error");
    fetch(`${root.dataset.statsUrl}?${params}`, { credentials: "same-origin" })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) { error.textContent = body.error; error.classList.remove("d-none"); return; }
        error.classList.add("d-none");
        document.getElementById("stats-period").textContent =
          _t("%(label)s: %(from)s to %(to)s (end excluded)",
             { label: body.period.label, from: body.period.from.slice(0, 10), to: body.period.to.slice(0, 10) }) +
          (body.within ? " · " + _t("within %(area)s", { area: body.within }) : "");
        kpis(body.total);
        drawCharts(body.trend);
        rows = body.units;
        drawTable();
        root.dataset.loaded = body.level;
      });
  }
  form.addEventListener("change", load);
  // the figures follow the cases (a reload of them costs a second at city scale: at most once a minute)
  const refresh = window.GridWatch.atMostEvery(60000, load);
  window.GridWatch.liveFeed(root.dataset.liveUrl, refresh, refresh);
  document.getElementById("stats-go").addEventListener("click", load);
  load();
})();
