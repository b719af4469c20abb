/* The planner's import page: upload (with progress), check (dry run: report + preview map, field
   mapping offered from the file's own columns), then import. Everything from the file is shown
   as text, never as HTML. */
(function () {
  const $ = (id) => document.getElementById(id);
  const T = GridWatch.textNode;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = $("import-form");
  const mapEl = $("preview-map");
  const map = L.map(mapEl, { maxZoom: 20 }).setView([35, 105], 4);
  const extent = JSON.parse(mapEl.dataset.extent || "null");
  if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  let preview = null;
  // what each area of the file is to the stored layer (gis/areas/topology.diff)
  const DIFF_KINDS = ["new", "changed", "unchanged", "gone"];
  const DIFF_COLOURS = { new: "#31a354", changed: "#e6550d", unchanged: "#3182bd", gone: "#de2d26" };
  const DIFF_NAMES = { new: _t("new"), changed: _t("changed"), unchanged: _t("unchanged"), gone: _t("gone") };

  // what is already stored, in grey under the file: the level being imported (grids of a level,
  // or the buildings), so the planner sees where the new file sits against the old
  if (!map.getPane("existing")) map.createPane("existing").style.zIndex = 350;
  const existingUrl = () => ($("kind").value === "buildings"
    ? mapEl.dataset.buildingsUrl
    : mapEl.dataset.existingUrl.replace("LEVEL", $("kind").value === "grids" ? $("level").value : "grid"));
  let existing = null;
  function drawExisting() {
    if (existing) existing.remove();
    existing = GridWatch.viewportLayer(map, {
      name: "existing", url: existingUrl(), pane: "existing",
      style: () => ({ color: "#636363", weight: 1, dashArray: "3 3", fillColor: "#bdbdbd", fillOpacity: 0.25 }),
      onEachFeature: (f, l) => l.bindTooltip(T("span", _t("stored: %(name)s", { name: [f.properties.code, f.properties.name].filter(Boolean).join(" ") }))),
    });
  }
  $("kind").addEventListener("change", drawExisting);
  $("level").addEventListener("change", drawExisting);
  drawExisting();
  L.control.scale().addTo(map);

  function showKind() {
    const kind = $("kind").value;
    form.querySelectorAll("[data-for]").forEach((el) => el.classList.toggle("d-none", !el.dataset.for.split(" ").includes(kind)));
  }
  $("file").addEventListener("change", () => {
    $("file-names").textContent = Array.from($("file").files, (f) => f.name).join(", ");
  });
  $("kind").addEventListener("change", showKind);
  showKind();

  function fillFields(columns, chosen) {
    form.querySelectorAll("select.field").forEach((sel) => {
      const current = sel.value || (chosen && chosen[sel.name.replace("_field", "")]) || "";
      sel.length = 0;
      sel.add(new Option(_t("(auto)"), ""));
      for (const c of columns) sel.add(new Option(c, c, false, c === current));
    });
  }

  function send(dryRun) {
    const fd = new FormData(form);
    fd.set("dry_run", dryRun ? "1" : "0");
    if (!fd.get("replace")) fd.delete("replace");
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/imports");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      const bar = $("progress");
      bar.classList.remove("d-none");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) bar.firstElementChild.style.width = `${(100 * e.loaded) / e.total}%`;
      };
      xhr.upload.onload = () => { $("status").textContent = _t("Uploaded; reading and validating…"); };
      xhr.onload = () => {
        bar.classList.add("d-none");
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: _t("server answered %(status)s", { status: xhr.status }) }; }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = () => { bar.classList.add("d-none"); resolve({ status: 0, body: { error: _t("network error") } }); };
      $("status").textContent = _t("Uploading…");
      xhr.send(fd);
    });
  }

  function list(title, items, fmt, cls) {
    if (!items || !items.length) return null;
    const box = document.createElement("div");
    box.appendChild(T("strong", `${title} (${items.length})`, cls));
    const ul = document.createElement("ul");
    for (const it of items.slice(0, 50)) ul.appendChild(T("li", fmt(it)));
    if (items.length > 50) ul.appendChild(T("li", _t("… and %(count)s more", { count: items.length - 50 })));
    box.appendChild(ul);
    return box;
  }

  const rowName = (x) => (x.id ? `${x.row} (${x.id})` : String(x.row));

  function showReport(body) {
    const r = body.report || {};
    const out = $("report");
    out.replaceChildren();
    const head = _t("%(file)s: %(read)s features read, %(kept)s usable", { file: r.file || "", read: r.features_read ?? "?", kept: r.features_kept ?? 0 }) +
      " · " + (r.crs || _t("no CRS")) + (r.crs_assumed ? " " + _t("(assumed)") : "") +
      (r.encoding ? " · " + _t("text %(encoding)s (%(source)s)", { encoding: r.encoding, source: r.encoding_source }) : "");
    out.appendChild(T("p", head));
    const counts = (r.diff || {}).counts;
    if (counts) {
      const legend = document.createElement("p");
      legend.className = "gw-diff-legend";
      for (const kind of DIFF_KINDS) {
        if (counts[kind] == null) continue;
        const item = T("span", `${DIFF_NAMES[kind]} ${counts[kind]}`, "me-3");
        item.style.borderLeft = `12px solid ${DIFF_COLOURS[kind]}`;
        item.style.paddingLeft = "4px";
        legend.appendChild(item);
      }
      out.appendChild(legend);
    }
    const topo = r.topology || {};
    for (const part of [
      list(_t("Errors"), r.errors, (e) => e, "text-danger"),
      list(_t("Warnings"), r.warnings, (w) => w, "text-warning"),
      list(_t("Repaired"), r.repaired, (x) => _t("row %(row)s: %(what)s", { row: rowName(x), what: x.problem })),
      list(_t("Rejected"), r.rejected, (x) => _t("row %(row)s: %(what)s", { row: rowName(x), what: x.reason }), "text-danger"),
      list(_t("Overlaps"), topo.overlaps, (o) => `${o.a} × ${o.b}: ${o.area_m2} m²`, "text-warning"),
      list(_t("Gaps"), topo.gaps, (g) => _t("inside %(parent)s: %(area)s m² in %(parts)s part(s)", { parent: g.parent, area: g.area_m2, parts: g.parts }), "text-warning"),
      list(_t("Over stored areas"), topo.overlaps_stored, (o) => _t("%(code)s lies over %(stored)s: %(area)s m²", { code: o.code, stored: o.stored, area: o.area_m2 }), "text-danger"),
      list(_t("Changed"), (r.diff || {}).changed, (c) => _t("%(code)s: %(area)s m² moved", { code: c.code, area: c.moved_m2 })),
      list(_t("Gone"), (r.diff || {}).gone, (c) => c, "text-warning"),
      list(_t("Outside the parent"), topo.outside_parent, (o) => _t("%(code)s sticks out of %(parent)s by %(area)s m²", { code: o.code, parent: o.parent, area: o.area_m2 }), "text-warning"),
    ]) if (part) out.appendChild(part);
    if (r.columns) fillFields(r.columns, r.fields);
    if (preview) { map.removeLayer(preview); preview = null; }
    if (body.preview && body.preview.features.length) {
      preview = L.geoJSON(body.preview, {  // the file over the stored layer, coloured by what it changes
        style: (f) => {
          const colour = DIFF_COLOURS[f.properties.diff] || DIFF_COLOURS.new;
          return { color: colour, weight: f.properties.diff === "gone" ? 2 : 1, dashArray: f.properties.diff === "gone" ? "4 3" : null,
            fillColor: colour, fillOpacity: f.properties.diff === "unchanged" ? 0.1 : 0.35 };
        },
        onEachFeature: (f, l) => l.bindTooltip(T("span", [f.properties.code, f.properties.name, DIFF_NAMES[f.properties.diff]].filter(Boolean).join(" "))),
      }).addTo(map);
      map.fitBounds(preview.getBounds());
    }
  }

  $("check").addEventListener("click", async () => {
    $("commit").disabled = true;
    const { status, body } = await send(true);
    showReport(body);
    const ok = status === 200;
    $("status").textContent = ok ? _t("Checked: nothing written yet. Adjust the mapping if needed, then Import.") : (body.error || _t("Refused (%(status)s)", { status }));
    $("status").className = "small mt-2 " + (ok ? "text-success" : "text-danger");
    $("commit").disabled = !ok;
  });

  /* An import is a job on the server: its stage and percent are polled until it ends. */
  async function follow(job) {
    const bar = $("progress");
    bar.classList.remove("d-none");
    for (;;) {
      bar.firstElementChild.style.width = `${job.percent || 0}%`;
      bar.setAttribute("aria-valuenow", String(job.percent || 0));
      $("status").textContent = _t("Importing: %(stage)s", { stage: job.stage || "…" }) + ` ${Math.round(job.percent || 0)} %`;
      if (!["queued", "running"].includes(job.state)) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const r = await fetch(job.status_url, { credentials: "same-origin", cache: "no-store" }).catch(() => null);
      if (r && r.ok) job = await r.json();
    }
    bar.classList.add("d-none");
    return job;
  }

  $("commit").addEventListener("click", async () => {
    $("commit").disabled = true;
    const { status, body } = await send(false);
    const job = status === 202 ? await follow(body) : { state: "refused", error: body.error, report: body.report };
    if (job.report) showReport({ report: job.report, preview: null });
    const ok = job.state === "done";
    $("status").textContent = ok ? _t("Imported %(count)s features (batch %(batch)s).", { count: job.report.written, batch: job.batch_id }) : (job.error || _t("Refused (%(status)s): nothing written", { status }));
    $("status").className = "small mt-2 " + (ok ? "text-success" : "text-danger");
    $("status").dataset.state = job.state;
    if (ok) {
      drawExisting();  // the stored layer, as it is now
      const link = T("a", " " + _t("All imports (undo)"));
      link.href = "/imports";
      $("status").appendChild(link);
    }
  });
})();
