// Live rows: a `<tbody data-live-rows data-live-query="records.list" data-live-args='{…}'>`
// whose rows are a `{% partialdef rows inline %}` of the page's template. When the
// query's value changes, the same URL is fetched with `X-Partial: rows` and the server's
// rendering of the rows replaces the tbody's content, so one template decides the markup
// (dates, empty row, the viewer's controls and their CSRF tokens). Without JavaScript the
// table is simply the page as rendered. See docs/live-queries.md.
(function () {
  "use strict";
  const signIn = () => document.querySelector("[data-live-status]")?.dataset.signIn;

  // One fetch in flight per tbody, at most one queued behind it: a burst of changes
  // costs two requests, and the last one reflects them all.
  function refresher(tbody) {
    let running = false;
    let queued = false;

    async function run() {
      running = true;
      try {
        // Never under the user's hands: wait while they are in a form inside the rows.
        if (tbody.contains(document.activeElement)) {
          await new Promise((resolve) => tbody.addEventListener("focusout", resolve, {once: true}));
        }
        const response = await fetch(location.href, {
          credentials: "same-origin",
          headers: {"X-Partial": "rows"},
        });
        const path = new URL(response.url).pathname;
        if (response.status === 401 || (response.redirected && path === signIn())) {
          window.live.end("signed-out");
        } else if (response.status === 403 || response.status === 404 || response.redirected) {
          window.live.end("forbidden"); // the page no longer shows this to the viewer
        } else if (response.ok) {
          tbody.innerHTML = await response.text();
          tbody.dataset.liveUpdated = String(Date.now());
        } // else (5xx): keep the rows; the next change or reconnect fetches again
      } catch (error) {
        // offline: the socket's reconnect sends the value again, which fetches again
      } finally {
        running = false;
      }
      if (queued && !["signed-out", "forbidden", "suspended", "pending_deletion"].includes(window.live.state)) {
        queued = false;
        run();
      }
    }

    return function refresh() {
      if (running) queued = true;
      else run();
    };
  }

  for (const tbody of document.querySelectorAll("tbody[data-live-rows][data-live-query]")) {
    const refresh = refresher(tbody);
    let last = null;
    window.live.subscribe(tbody.dataset.liveQuery, JSON.parse(tbody.dataset.liveArgs || "{}"), (value) => {
      const seen = JSON.stringify(value);
      // The first value is what the page already shows; a reconnect sends it again.
      if (last !== null && seen !== last) refresh();
      else tbody.dataset.liveUpdated = String(Date.now());
      last = seen;
    });
  }
})();
