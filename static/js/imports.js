/* The imports page: undo the newest import still in force, after asking. */
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("undo-status");
  document.querySelectorAll(".gw-undo").forEach((button) => {
    button.addEventListener("click", async () => {
      if (!window.confirm(button.dataset.confirm)) return;
      button.disabled = true;
      status.textContent = _t("Undoing…");
      const r = await fetch(`/api/v1/imports/${button.dataset.batch}/undo`, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      }).catch(() => null);
      const body = r ? await r.json().catch(() => ({})) : { error: _t("network error") };
      if (r && r.ok) {
        status.textContent = _t("Undone: %(removed)s removed, %(restored)s put back.", { removed: body.removed, restored: body.restored });
        window.location.reload();
      } else {
        status.textContent = body.error || _t("Refused (%(status)s)", { status: r ? r.status : 0 });
        status.className = "small text-danger";
        button.disabled = false;
      }
    });
  });
})();
