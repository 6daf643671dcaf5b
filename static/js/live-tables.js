// Upgrades server-rendered tables marked data-live-query to live ones: when the query's
// value changes, the page is fetched again and its freshly rendered rows swapped in, so
// the server's template alone decides the markup (and the rows' forms keep their CSRF
// tokens). Without JavaScript the table is simply the page as rendered.
(function () {
  "use strict";

  // Never under the user's hands: wait while they are in a form inside the rows.
  async function refetch(table) {
    const tbody = table.querySelector("tbody[data-live-rows]");
    if (tbody.contains(document.activeElement)) {
      tbody.addEventListener("focusout", () => refetch(table), {once: true});
      return;
    }
    const response = await fetch(window.location.href, {credentials: "same-origin"});
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const selector = `table[data-live-query="${table.dataset.liveQuery}"] tbody[data-live-rows]`;
    const fresh = page.querySelector(selector);
    if (fresh) tbody.replaceWith(document.importNode(fresh, true));
    table.dataset.liveUpdated = String(Date.now());
  }

  for (const table of document.querySelectorAll("table[data-live-query]")) {
    const args = JSON.parse(table.dataset.liveArgs || "{}");
    if (!table.querySelector("tbody[data-live-rows]")) continue;
    let first = true;
    window.live.subscribe(table.dataset.liveQuery, args, () => {
      if (!first) refetch(table); // the first value is what the page already shows
      else table.dataset.liveUpdated = String(Date.now());
      first = false;
    });
  }
})();
