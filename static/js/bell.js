// The header's bell: its unread count, kept current by the personal live query
// `notifications.unread` (docs/notifications.md). Without JavaScript the server's count
// and the link to the list are all there is, and enough.
(function () {
  "use strict";
  const bell = document.querySelector("[data-bell]");
  if (!bell || !window.live) return;
  const badge = bell.querySelector("[data-bell-count]");
  function show(count) {
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? "99+" : String(count);
    bell.dataset.unread = String(count);
    bell.setAttribute(
      "aria-label",
      count ? bell.dataset.labelUnread.replace("__count__", String(count)) : bell.dataset.label,
    );
  }
  window.live.subscribe("notifications.unread", {}, (value) => show(value.count), null, {quiet: true});
})();
