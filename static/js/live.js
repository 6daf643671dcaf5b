// Live queries over /ws/ (docs/live-queries.md). No build step, no dependencies.
//
//   const stop = live.subscribe("members.list", {}, (value) => render(value),
//                               (error) => console.warn(error.code, error.message));
//
// One socket per page, shared by every subscription; it reconnects with backoff and
// re-subscribes, and the server then sends each value again.
//
// live.state is "connecting", "live" (values are current), "unavailable" (the server
// cannot keep them current: its database is away), "offline" (no socket: retrying),
// "signed-out" (the session ended), "forbidden" (the viewer lost access to what the
// page shows), "suspended" or "pending_deletion" (nobody may act in the organization
// now). These end the page's live updates: a notice says so instead of
// letting it go stale. Every change is dispatched as a `live:state` event on document,
// set as <html data-live="...">, and shown by any [data-live-status] indicator.
(function () {
  "use strict";
  if (window.live) return; // included by a page and by the header's bell: one socket
  const subscriptions = new Map();
  let socket = null;
  let nextId = 1;
  let retry = 0;
  let timer = null;
  let state = "connecting";
  const ENDED = new Set(["signed-out", "forbidden", "suspended", "pending_deletion"]);
  // What the indicator says (short) and its tooltip (long); no entry: hidden.
  const INDICATOR = {
    live: ["Live", "Updates appear as they happen."],
    unavailable: ["Paused", "Live updates are paused: the server is recovering. What you see may be out of date."],
    offline: ["Reconnecting…", "Connection lost. Reconnecting…"],
  };
  const NOTICES = {
    "signed-out": ["Your session ended.", "Sign in again", "signIn"],
    forbidden: ["You no longer have access to this organization.", "Back to the start page", "home"],
    // "here": this page again, which now says why (the server's suspended page).
    suspended: ["This organization has been suspended.", "See why", "here"],
    pending_deletion: ["This organization is scheduled for deletion.", "See details", "here"],
  };

  function indicator(element) {
    // Quiet subscriptions (the header's bell) keep the page's indicator hidden.
    const shown = [...subscriptions.values()].some((sub) => !sub.quiet);
    let label = shown ? INDICATOR[state] : undefined;
    if (shown && state === "offline" && (navigator.onLine === false || retry > 4)) {
      label = ["Offline", "No connection to the server. Retrying…"];
    }
    element.dataset.state = state;
    element.hidden = !label;
    element.textContent = label ? label[0] : "";
    element.title = label ? label[1] : "";
  }

  function notice(anchor) {
    const [text, action, target] = NOTICES[state];
    let url = target === "here" ? location.pathname + location.search : anchor.dataset[target] || "/";
    if (target === "signIn") url += `?next=${encodeURIComponent(location.pathname + location.search)}`;
    const box = document.createElement("div");
    box.className = "message message-warning live-notice";
    box.setAttribute("role", "alert");
    box.dataset.liveNotice = state;
    const link = Object.assign(document.createElement("a"), {href: url, textContent: action});
    box.append(`${text} What you see here is no longer updated. `, link);
    anchor.before(box);
  }

  function setState(next) {
    if (next === state || ENDED.has(state)) return; // an ended page stays ended
    state = next;
    document.documentElement.dataset.live = next;
    for (const element of document.querySelectorAll("[data-live-status]")) {
      indicator(element);
      if (ENDED.has(next)) notice(element);
    }
    document.dispatchEvent(new CustomEvent("live:state", {detail: {state: next}}));
  }

  // The page's live updates are over (signed out, access gone): stop, say so.
  function end(reason) {
    setState(reason);
    clearTimeout(timer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  }

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/`;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function connect() {
    timer = null;
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
        // A removed member's or a signed-out session's subscriptions end like this.
        if (frame.code === "forbidden") end("forbidden");
        if (frame.code === "unauthenticated") end("signed-out");
        if (frame.code === "suspended" || frame.code === "pending_deletion") end(frame.code);
      }
    });
    socket.addEventListener("close", (event) => {
      if (ENDED.has(state)) return;
      if (event.code === 4001) {
        end("signed-out"); // the session is gone: reconnecting would not help
        return;
      }
      setState("offline");
      retry += 1;
      for (const element of document.querySelectorAll("[data-live-status]")) indicator(element);
      timer = setTimeout(connect, Math.min(30000, 500 * 2 ** (retry - 1)));
    });
  }

  // Back online: try now rather than at the end of the backoff.
  window.addEventListener("online", () => {
    if (timer !== null) { clearTimeout(timer); connect(); }
  });
  window.addEventListener("offline", () => {
    for (const element of document.querySelectorAll("[data-live-status]")) indicator(element);
  });

  // options.quiet: not what the page is about, so no "Live" indicator for it alone.
  function subscribe(query, args, onValue, onError, options) {
    const id = `s${nextId++}`;
    const quiet = Boolean(options && options.quiet);
    subscriptions.set(id, {query, args: args || {}, onValue, onError, quiet});
    if (!socket) connect();
    else send({type: "subscribe", id, query, args: args || {}});
    return function unsubscribe() {
      subscriptions.delete(id);
      send({type: "unsubscribe", id});
    };
  }

  window.live = {
    subscribe,
    end,
    get state() { return state; },
  };
})();
