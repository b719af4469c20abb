/* /coverage: upload a GPX track and say what its cleaning dropped, as text (file names are user data). */
(function (GW) {
  const form = document.getElementById("gpx-form");
  if (!form) return;
  const out = document.getElementById("gpx-result");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    out.replaceChildren(GW.textNode("div", "Uploading…", "text-muted"));
    const token = document.querySelector("meta[name=csrf-token]").content;
    fetch(form.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        out.replaceChildren();
        if (!ok) { out.appendChild(GW.textNode("div", body.error || "upload failed", "alert alert-danger py-1")); return; }
        const c = body.cleaning;
        out.appendChild(GW.textNode("div", `Track ${body.id}: ${c.fixes_kept} of ${c.fixes_read} fixes kept, ${c.segments} segment(s), ${body.coverage.grids_total} grid(s) passed.`, "alert alert-success py-1 mb-1"));
        for (const [, d] of Object.entries(c.dropped)) out.appendChild(GW.textNode("div", `dropped ${d.count}: ${d.why}`));
        if (c.split_at_gaps) out.appendChild(GW.textNode("div", `split at ${c.split_at_gaps} gap(s)`));
        for (const w of c.warnings) out.appendChild(GW.textNode("div", w, "text-warning"));
        const again = GW.textNode("a", "Show the coverage again", "d-block");
        again.href = window.location.href;
        out.appendChild(again);
        out.dataset.track = String(body.id);
      })
      .catch((err) => out.replaceChildren(GW.textNode("div", `upload failed: ${err}`, "alert alert-danger py-1")));
  });
})(window.GridWatch);
