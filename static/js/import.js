/* The planner's import page: upload (with progress), check (dry run: report + preview map, field
   mapping offered from the file's own columns), then import. Everything from the file is shown
   as text, never as HTML. */
(function () {
  const $ = (id) => document.getElementById(id);
  const T = GridWatch.textNode;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = $("import-form");
  const map = L.map("preview-map").setView([35, 105], 4);
  let preview = null;

  function showKind() {
    const kind = $("kind").value;
    form.querySelectorAll("[data-for]").forEach((el) => el.classList.toggle("d-none", el.dataset.for !== kind));
  }
  $("kind").addEventListener("change", showKind);
  showKind();

  function fillFields(columns, chosen) {
    form.querySelectorAll("select.field").forEach((sel) => {
      const current = sel.value || (chosen && chosen[sel.name.replace("_field", "")]) || "";
      sel.length = 0;
      sel.add(new Option("(auto)", ""));
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
      xhr.upload.onload = () => { $("status").textContent = "Uploaded; reading and validating…"; };
      xhr.onload = () => {
        bar.classList.add("d-none");
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: `server answered ${xhr.status}` }; }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = () => { bar.classList.add("d-none"); resolve({ status: 0, body: { error: "network error" } }); };
      $("status").textContent = "Uploading…";
      xhr.send(fd);
    });
  }

  function list(title, items, fmt, cls) {
    if (!items || !items.length) return null;
    const box = document.createElement("div");
    box.appendChild(T("strong", `${title} (${items.length})`, cls));
    const ul = document.createElement("ul");
    for (const it of items.slice(0, 50)) ul.appendChild(T("li", fmt(it)));
    if (items.length > 50) ul.appendChild(T("li", `… and ${items.length - 50} more`));
    box.appendChild(ul);
    return box;
  }

  function showReport(body) {
    const r = body.report || {};
    const out = $("report");
    out.replaceChildren();
    const head = `${r.file || ""}: ${r.features_read ?? "?"} features read, ${r.features_kept ?? 0} usable · ${r.crs || "no CRS"}` +
      (r.crs_assumed ? " (assumed)" : "") + (r.encoding ? ` · text ${r.encoding} (${r.encoding_source})` : "");
    out.appendChild(T("p", head));
    const topo = r.topology || {};
    for (const part of [
      list("Errors", r.errors, (e) => e, "text-danger"),
      list("Warnings", r.warnings, (w) => w, "text-warning"),
      list("Repaired", r.repaired, (x) => `row ${x.row}${x.id ? " (" + x.id + ")" : ""}: ${x.problem}`),
      list("Rejected", r.rejected, (x) => `row ${x.row}${x.id ? " (" + x.id + ")" : ""}: ${x.reason}`, "text-danger"),
      list("Overlaps", topo.overlaps, (o) => `${o.a} × ${o.b}: ${o.area_m2} m²`, "text-warning"),
      list("Gaps", topo.gaps, (g) => `inside ${g.parent}: ${g.area_m2} m² in ${g.parts} part(s)`, "text-warning"),
      list("Outside the parent", topo.outside_parent, (o) => `${o.code} sticks out of ${o.parent} by ${o.area_m2} m²`, "text-warning"),
    ]) if (part) out.appendChild(part);
    if (r.columns) fillFields(r.columns, r.fields);
    if (preview) { map.removeLayer(preview); preview = null; }
    if (body.preview && body.preview.features.length) {
      preview = L.geoJSON(body.preview, {
        style: { color: "#2c3e50", weight: 1, fillColor: "#3182bd", fillOpacity: 0.3 },
        onEachFeature: (f, l) => l.bindTooltip(T("span", [f.properties.code, f.properties.name].filter(Boolean).join(" "))),
      }).addTo(map);
      map.fitBounds(preview.getBounds());
    }
  }

  $("check").addEventListener("click", async () => {
    $("commit").disabled = true;
    const { status, body } = await send(true);
    showReport(body);
    const ok = status === 200;
    $("status").textContent = ok ? "Checked: nothing written yet. Adjust the mapping if needed, then Import." : (body.error || `Refused (${status})`);
    $("status").className = "small mt-2 " + (ok ? "text-success" : "text-danger");
    $("commit").disabled = !ok;
  });

  $("commit").addEventListener("click", async () => {
    $("commit").disabled = true;
    const { status, body } = await send(false);
    showReport(body);
    const ok = status === 201;
    $("status").textContent = ok ? `Imported ${body.report.written} features (batch ${body.batch_id}).` : (body.error || `Refused (${status}): nothing written`);
    $("status").className = "small mt-2 " + (ok ? "text-success" : "text-danger");
  });
})();
