// Live queries over /ws/ (docs/live-queries.md). No build step, no dependencies.
//
//   const stop = live.subscribe("members.list", {}, (value) => render(value),
//                               (error) => console.warn(error.code, error.message));
//
// One socket per page, shared by every subscription; it reconnects with backoff and
// re-subscribes, and the server then sends each value again.
//
// live.state is "connecting", "live" (values are current), "unavailable" (the server
// cannot keep them current: its database is away), "offline" (no socket: retrying) or
// "signed-out". Every change is dispatched as a `live:state` event on document, set as
// <html data-live="...">, and shown in any [data-live-status] element on the page.
(function () {
  "use strict";
  const subscriptions = new Map();
  let socket = null;
  let nextId = 1;
  let retry = 0;
  let state = "connecting";
  const MESSAGES = {
    unavailable: "Live updates are paused: the server is recovering. What you see may be out of date.",
    offline: "Connection lost. Reconnecting…",
    "signed-out": "You signed out. Reload the page to continue.",
  };

  function setState(next) {
    if (next === state) return;
    state = next;
    document.documentElement.dataset.live = next;
    for (const element of document.querySelectorAll("[data-live-status]")) {
      element.textContent = MESSAGES[next] || "";
      element.hidden = !MESSAGES[next];
    }
    document.dispatchEvent(new CustomEvent("live:state", {detail: {state: next}}));
  }

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/`;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function connect() {
    socket = new WebSocket(url());
    socket.addEventListener("open", () => {
      retry = 0;
      setState("live");
      for (const [id, sub] of subscriptions) {
        send({type: "subscribe", id, query: sub.query, args: sub.args});
      }
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "status") {
        setState(frame.state === "live" ? "live" : "unavailable");
        return;
      }
      const sub = subscriptions.get(frame.id);
      if (!sub) return;
      if (frame.type === "result") sub.onValue(frame.value);
      if (frame.type === "error") {
        subscriptions.delete(frame.id);
        if (sub.onError) sub.onError(frame);
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4001) {
        setState("signed-out"); // the page is stale: do not reconnect
        return;
      }
      setState("offline");
      const delay = Math.min(30000, 500 * 2 ** retry++);
      setTimeout(connect, delay);
    });
  }

  function subscribe(query, args, onValue, onError) {
    const id = `s${nextId++}`;
    subscriptions.set(id, {query, args: args || {}, onValue, onError});
    if (!socket) connect();
    else send({type: "subscribe", id, query, args: args || {}});
    return function unsubscribe() {
      subscriptions.delete(id);
      send({type: "unsubscribe", id});
    };
  }

  window.live = {
    subscribe,
    get state() { return state; },
  };
})();
