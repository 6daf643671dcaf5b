// Upgrades server-rendered tables marked data-live-query to live ones. Without
// JavaScript the table is simply the page as rendered.
(function () {
  "use strict";
  const columns = {
    "records.list": (value) => value.records.map((record) => [
      {text: record.title, href: `/records/${record.id}/`},
      {text: record.status.replace("_", " ").replace(/^./, (c) => c.toUpperCase())},
      {text: new Date(record.created_at).toLocaleString()},
    ]),
    "members.list": (value) => value.map((member) => [
      {text: member.email}, {text: member.role.replace(/^./, (c) => c.toUpperCase())},
    ]),
  };

  function render(tbody, rows) {
    const fresh = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const cell of row) {
        const td = document.createElement("td");
        if (cell.href) {
          const a = document.createElement("a");
          a.href = cell.href;
          a.textContent = cell.text;
          td.appendChild(a);
        } else {
          td.textContent = cell.text;
        }
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    tbody.replaceChildren(fresh);
  }

  // Rows with forms (CSRF tokens, choices) are the server's to draw: fetch this page
  // again and take its rows. Never under the user's hands: wait while they are in a form.
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
    const query = table.dataset.liveQuery;
    const args = JSON.parse(table.dataset.liveArgs || "{}");
    const tbody = table.querySelector("tbody[data-live-rows]");
    if (!tbody || (!columns[query] && !("liveRefetch" in table.dataset))) continue;
    let first = true;
    window.live.subscribe(query, args, (value) => {
      if ("liveRefetch" in table.dataset) {
        if (!first) refetch(table); // the first value is what the page already shows
        else table.dataset.liveUpdated = String(Date.now());
      } else {
        render(tbody, columns[query](value));
        table.dataset.liveUpdated = String(Date.now());
      }
      first = false;
    });
  }
})();
