/* The visit form of the people's diary, for one hand on a cheap phone: whom was met and what they
   need in a tap each (chips), when to come back in one more; the visit is kept on the phone first
   (outbox.js) and sent from there, once, when there is signal. */
(function (GW, Outbox) {
  const $ = (id) => document.getElementById(id);
  const form = $("visit-form");
  const user = Number(document.querySelector('meta[name="gw-user"]').content);
  const line = (words, className) => Object.assign(document.createElement("div"), { textContent: words, className });

  for (const chip of document.querySelectorAll("#met-choices [data-person]")) {
    chip.addEventListener("click", () => { $("met").value = chip.dataset.name; $("met_person_id").value = chip.dataset.person; });
  }
  $("met").addEventListener("input", () => { $("met_person_id").value = ""; });
  for (const chip of document.querySelectorAll("#need-chips [data-need]")) {
    chip.addEventListener("click", () => {
      const words = $("needs").value.split("、").filter(Boolean);
      if (!words.includes(chip.dataset.need)) words.push(chip.dataset.need);
      $("needs").value = words.join("、");
    });
  }
  $("with-report").addEventListener("change", () => $("report_category").classList.toggle("d-none", !$("with-report").checked));

  function followUp() {
    const days = Number(form.querySelector("input[name=follow]:checked").value);
    if (!days) return "";
    const day = new Date(`${$("visited_on").value || form.dataset.today}T12:00:00`);
    day.setDate(day.getDate() + days);
    return day.toISOString().slice(0, 10);
  }

  async function render() {
    const mine = (await Outbox.all()).filter((i) => i.user === user && i.kind === "visit");
    const box = $("outbox");
    box.replaceChildren();
    box.dataset.waiting = String(mine.filter((i) => i.state === "waiting").length);
    for (const item of mine) {
      const words = item.state === "failed"
        ? _t("Not accepted: %(why)s", { why: item.error })
        : _t("Visit waiting for signal: %(what)s", { what: item.label });
      box.appendChild(line(words, item.state === "failed" ? "text-danger" : "text-warning"));
    }
    const last = (await Outbox.sent()).filter((s) => s.user === user && s.kind === "visit").slice(0, 1);
    if (last.length) box.appendChild(line(_t("Visit saved in the diary."), "text-success"));
  }

  function afterFlush(result) {
    if (result && (result.offline || result.retryLater)) Outbox.requestSync();
    if (result && result.loggedOut) $("result").textContent = _t("Log in again to send what waits.");
    render();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fields = {
      household_id: form.dataset.household, building_id: form.dataset.household ? "" : form.dataset.building,
      visited_on: $("visited_on").value, met: $("met").value, met_person_id: $("met_person_id").value,
      discussed: $("discussed").value, needs: $("needs").value, follow_up_on: followUp(),
      report_category: $("with-report").checked ? $("report_category").value : "",
    };
    if (!fields.met && !fields.discussed && !fields.needs && !$("photo").files.length) {
      $("result").textContent = _t("Say whom you met, what was discussed or what is needed.");
      return;
    }
    $("send").disabled = true;
    const photo = $("photo").files[0];
    await Outbox.add({
      client_id: GW.uuid4(), kind: "visit", user, fields,
      label: [fields.met, fields.needs || fields.discussed].filter(Boolean).join(" · ").slice(0, 80),
      photos: photo ? [await GW.shrinkPhoto(photo)] : [],
    });
    form.reset();
    $("report_category").classList.add("d-none");
    $("result").textContent = _t("Kept on the phone; it is sent as soon as there is signal.");
    $("send").disabled = false;
    Outbox.flush({}).then(afterFlush);
  });

  window.addEventListener("gw-outbox", render);
  window.addEventListener("online", () => Outbox.flush({}).then(afterFlush));
  setInterval(() => { if (navigator.onLine) Outbox.flush({}).then(afterFlush); }, 30000);
  render().then(() => Outbox.flush({}).then(afterFlush));
})(window.GridWatch, window.GridWatchOutbox);
