/* Start / end a patrol from the worker's phone. Built for a weak signal and a cheap battery:
   - a fix is kept at most every GW_PATROL_MIN_S seconds (5), queued in localStorage, and sent in
     batches; a failed send stays queued and goes with the next one (nothing is lost offline);
   - the server drops re-sent fixes as duplicates, so retrying is always safe;
   - a reload in the middle of a patrol picks it up again. */
(function () {
  const bar = document.getElementById("patrol-bar");
  if (!bar) return;
  if (!navigator.geolocation) { bar.classList.add("d-none"); return; }
  const KEY = "gridwatch.patrol";
  const MIN_S = window.GW_PATROL_MIN_S ?? 5;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const startBtn = document.getElementById("patrol-start"), endBtn = document.getElementById("patrol-end");
  const status = document.getElementById("patrol-status");
  let state = JSON.parse(localStorage.getItem(KEY) || "null");
  let watch = null, timer = null, sending = false;

  const save = () => (state ? localStorage.setItem(KEY, JSON.stringify(state)) : localStorage.removeItem(KEY));
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body || {}),
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
  }).then((r) => r.json().then((b) => ({ status: r.status, body: b })));

  function render(text) {
    startBtn.classList.toggle("d-none", !!state);
    endBtn.classList.toggle("d-none", !state);
    const waiting = state && state.queue.length ? _t(", %(count)s waiting for signal", { count: state.queue.length }) : "";
    status.textContent = text || (state ? _t("On patrol: %(sent)s fixes sent", { sent: state.sent }) + waiting : "");
    bar.dataset.sent = state ? String(state.sent) : "";
  }

  function flush() {
    if (!state || sending || !state.queue.length) return Promise.resolve();
    sending = true;
    const batch = state.queue.slice(0, 500);
    return post(state.points_url, { points: batch })
      .then(({ status: code, body }) => {
        if (code === 200 || code === 422) {  // 422: a fix the server can never take; do not resend
          state.queue.splice(0, batch.length);
          state.sent += code === 200 ? body.accepted : 0;
        } else if (code === 409 || code === 404 || code === 403) {
          state = null;  // the patrol ended elsewhere
        }
        save();
      })
      .catch(() => {})  // offline: keep the queue
      .finally(() => { sending = false; render(); });
  }

  function onFix(pos) {
    if (!state) return;
    if (state.last && pos.timestamp - state.last < MIN_S * 1000) return;
    state.last = pos.timestamp;
    state.queue.push({ lon: pos.coords.longitude, lat: pos.coords.latitude, time: pos.timestamp, accuracy: pos.coords.accuracy });
    save();
    render();
    if (state.queue.length >= 6) flush();
  }

  function follow() {
    watch = navigator.geolocation.watchPosition(onFix, (err) => render(_t("No GPS: %(why)s", { why: err.message })),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
    timer = setInterval(flush, 15000);
  }

  startBtn.addEventListener("click", () => {
    startBtn.disabled = true;
    post(bar.dataset.startUrl, {}).then(({ status: code, body }) => {
      if (code !== 201) { render(body.error || _t("Could not start (%(status)s)", { status: code })); return; }
      state = { id: body.id, points_url: body.points_url, end_url: body.end_url, queue: [], sent: 0, last: 0 };
      save();
      follow();
      render();
    }).catch(() => render(_t("No network: a patrol needs signal to start."))).finally(() => { startBtn.disabled = false; });
  });

  endBtn.addEventListener("click", () => {
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    clearInterval(timer);
    endBtn.disabled = true;
    flush().then(() => {
      if (!state) { render(); return null; }
      if (state.queue.length) { render(_t("%(count)s fixes still waiting for signal: try End again", { count: state.queue.length })); return null; }
      return post(state.end_url).then(({ status: code, body }) => {
        const sent = state.sent;
        state = null;
        save();
        const grids = code === 200 ? body.coverage.grids_total : 0;
        render(_t("Patrol ended: %(sent)s fixes, %(grids)s grid(s) passed.", { sent, grids }));
        bar.dataset.ended = String(body.id || "");
      });
    }).catch(() => render(_t("No network: press End patrol again when you have signal.")))
      .finally(() => { endBtn.disabled = false; });
  });

  if (state) follow();  // a reload in the middle of a patrol
  render();
  bar.dataset.ready = "";  // the buttons answer from here on
})();
