/* Every page: the service worker (the installable app, offline pages and the report queue), and
   forgetting what it kept for this person when they log out. */
(function () {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch(() => {});
  const logout = document.querySelector("form[action$='/logout']");
  if (logout) {
    logout.addEventListener("submit", () => {
      if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("forget");
    });
  }
})();
