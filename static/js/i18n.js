/* The page's words in the reader's language. /i18n/<locale>.js (app/i18n.py) sets GW_CATALOGUE
   (msgid → translation, the "js" domain that `make i18n` extracts from the _t calls), GW_NAMES
   (statuses, channels, roles, levels) and GW_TIMEZONE; this file gives the pages
   _t(msgid, params) with %(name)s placeholders, GW_NAME(kind, code) and GW_TIME(iso).
   A _t call's msgid must be a plain string literal outside template literals and other _t
   calls' arguments, or the extractor does not see it (tests/test_i18n.py checks). */
(function () {
  const catalogue = window.GW_CATALOGUE || {};
  window._t = function (msgid, params) {
    const text = catalogue[msgid] || msgid;
    if (!params) return text;
    return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
  };
  window.GW_NAME = function (kind, code) {
    return ((window.GW_NAMES || {})[kind] || {})[code] || code;
  };
  // one format for every time on every page: "2026-12-01 09:05" in the configured TIMEZONE
  let format = null;
  window.GW_TIME = function (iso) {
    if (!iso) return "—";
    if (!format) {
      format = new Intl.DateTimeFormat("sv-SE", { timeZone: window.GW_TIMEZONE || undefined,
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    }
    return format.format(new Date(iso));
  };
})();
