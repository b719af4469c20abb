/* Every page: the service worker (the installable app, offline pages and the report queue), and
   forgetting what it kept for this person when they log out; a form with data-confirm asks first. */
(function () {
  document.addEventListener("submit", (e) => {
    const ask = e.target.dataset && e.target.dataset.confirm;
    if (ask && !window.confirm(ask)) e.preventDefault();
  });
  if (!("serviceWorker" in navigator)) return;
  // after the page has loaded: on a weak signal, what the page itself needs comes first
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js").catch(() => {}));
  // once the worker is active its files are kept: pages may link to them instead of carrying
  // them inside (app/delivery.py)
  navigator.serviceWorker.ready.then(() => {
    document.cookie = "gw_kit=1; max-age=31536000; path=/; samesite=lax";
  });
  const logout = document.querySelector("form[action$='/logout']");
  if (logout) {
    logout.addEventListener("submit", () => {
      if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("forget");
    });
  }
})();
