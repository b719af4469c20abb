/* /coverage: upload a GPX track and say what its cleaning dropped, as text (file names are user data). */
(function (GW) {
  const form = document.getElementById("gpx-form");
  if (!form) return;
  const out = document.getElementById("gpx-result");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    out.replaceChildren(GW.textNode("div", _t("Uploading…"), "text-muted"));
    const token = document.querySelector("meta[name=csrf-token]").content;
    fetch(form.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        out.replaceChildren();
        if (!ok) { out.appendChild(GW.textNode("div", body.error || _t("upload failed"), "alert alert-danger py-1")); return; }
        const c = body.cleaning;
        out.appendChild(GW.textNode("div", _t("Track %(id)s: %(kept)s of %(read)s fixes kept, %(segments)s segment(s), %(grids)s grid(s) passed.",
          { id: body.id, kept: c.fixes_kept, read: c.fixes_read, segments: c.segments, grids: body.coverage.grids_total }), "alert alert-success py-1 mb-1"));
        for (const [, d] of Object.entries(c.dropped)) out.appendChild(GW.textNode("div", _t("dropped %(count)s: %(why)s", { count: d.count, why: d.why })));
        if (c.split_at_gaps) out.appendChild(GW.textNode("div", _t("split at %(count)s gap(s)", { count: c.split_at_gaps })));
        for (const w of c.warnings) out.appendChild(GW.textNode("div", w, "text-warning"));
        const again = GW.textNode("a", _t("Show the coverage again"), "d-block");
        again.href = window.location.href;
        out.appendChild(again);
        out.dataset.track = String(body.id);
      })
      .catch((err) => out.replaceChildren(GW.textNode("div", _t("upload failed: %(why)s", { why: err }), "alert alert-danger py-1")));
  });
})(window.GridWatch);
