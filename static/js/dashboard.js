/* /dashboard: indicators from /api/v1/stats as cards, charts and a sortable table.
   Unit names are user data: they go into the page as text, never as HTML. */
(function () {
  const root = document.getElementById("dashboard");
  const form = document.getElementById("stats-form");
  form.addEventListener("submit", (e) => e.preventDefault());  // the button loads; Enter must not reload
  const GRADE_COLOURS = { A: "#1a9850", B: "#91cf60", C: "#fee08b", D: "#fc8d59", E: "#d73027" };
  const COLUMNS = [
    ["code", "Code"], ["name", "Name"], ["reports", "Reports"], ["opened", "Opened"], ["due", "Due"],
    ["closed", "Closed"], ["closure_rate", "Closure rate", "pct"], ["on_time_rate", "On time", "pct"],
    ["rework_rate", "Rework", "pct"], ["solved_locally_share", "Solved locally", "pct"],
    ["median_hours", "Median h", "num"], ["p90_hours", "p90 h", "num"], ["overdue_now", "Overdue now"],
    ["grade", "Grade"],
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
    const cards = [["Reports", total.reports], ["Closure rate 结案率", show(total.closure_rate, "pct")],
      ["On-time rate 按期结案率", show(total.on_time_rate, "pct")], ["Rework rate 返工率", show(total.rework_rate, "pct")],
      ["Median hours to close", show(total.median_hours, "num")], ["Overdue now", total.overdue_now],
      ["Grade", total.grade]];
    for (const [label, value] of cards) {
      const col = document.createElement("div");
      col.className = "col-6 col-md";
      const card = document.createElement("div");
      card.className = "border rounded p-2 h-100";
      card.appendChild(text("div", label, "small text-muted"));
      const big = text("div", value, "fs-4 fw-semibold");
      if (label === "Grade" && value) { big.style.color = GRADE_COLOURS[value]; big.dataset.grade = value; }
      card.appendChild(big);
      col.appendChild(card);
      box.appendChild(col);
    }
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), { ...config, options: { maintainAspectRatio: false, animation: false, ...config.options } });
  }

  function drawCharts(trend) {
    chart("chart-weeks", { type: "bar", data: { labels: trend.weeks.map((w) => w.week), datasets: [
      { label: "reported", data: trend.weeks.map((w) => w.reports), backgroundColor: "#9ecae1" },
      { label: "closed", data: trend.weeks.map((w) => w.closed), backgroundColor: "#3182bd" },
      { label: "closed on time", data: trend.weeks.map((w) => w.on_time), type: "line", borderColor: "#1a9850" }] },
      options: { plugins: { title: { display: true, text: "Per week" } } } });
    chart("chart-categories", { type: "bar", data: { labels: trend.by_category.map((c) => c.name),
      datasets: [{ label: "reports", data: trend.by_category.map((c) => c.reports), backgroundColor: "#fd8d3c" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false }, title: { display: true, text: "By category" } } } });
    const channels = Object.entries(trend.by_channel).sort((a, b) => b[1] - a[1]);
    chart("chart-channels", { type: "bar", data: { labels: channels.map((c) => c[0]),
      datasets: [{ label: "reports", data: channels.map((c) => c[1]), backgroundColor: "#756bb1" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false }, title: { display: true, text: "By channel" } } } });
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
      const td = text("td", "No report in this period.", "text-muted");
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
          `${body.period.label}: ${body.period.from.slice(0, 10)} to ${body.period.to.slice(0, 10)} (end excluded)` +
          (body.within ? ` · within ${body.within}` : "");
        kpis(body.total);
        drawCharts(body.trend);
        rows = body.units;
        drawTable();
        root.dataset.loaded = body.level;
      });
  }
  form.addEventListener("change", load);
  document.getElementById("stats-go").addEventListener("click", load);
  load();
})();
