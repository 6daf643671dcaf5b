// Feedback on every page, no build step; without JavaScript the pages work as rendered.
//   - a submitted form's button is disabled and shows progress (CSS: [aria-busy]) until
//     the next page arrives; `data-busy-label="Saving…"` replaces its text meanwhile;
//   - flash messages ([data-dismiss]) get a close button; success and info ones go
//     after a few seconds (errors and warnings stay until closed);
//   - `<button type="button" data-copy="#element-id">Copy</button>` copies that text;
//   - header menus (`details.menu`) close on a click elsewhere or Escape.
(function () {
  "use strict";
  // The page's language (Django's JavaScriptCatalog, loaded first by base.html).
  const gettext = (text) => (window.gettext ? window.gettext(text) : text);
  const DISMISS_AFTER_MS = 6000;
  const GIVE_UP_MS = 20000; // a response that never navigates (a download): usable again
  document.documentElement.classList.add("js");

  function busy(form, button) {
    form.dataset.submitting = "true";
    if (button) {
      button.dataset.idleLabel = button.textContent;
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      button.setAttribute("aria-busy", "true");
      button.disabled = true;
    }
    setTimeout(() => idle(form), GIVE_UP_MS);
  }

  function idle(form) {
    delete form.dataset.submitting;
    for (const button of form.querySelectorAll("[aria-busy=true]")) {
      button.textContent = button.dataset.idleLabel;
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    // A <dialog>'s own form (the confirmation's buttons) only closes it: never busy, or
    // the dialog, reused, could not be confirmed the next time it opens.
    if (form.method === "dialog") return;
    if (form.dataset.submitting) { event.preventDefault(); return; } // a double click
    // After every listener (a confirmation dialog may cancel it) and after the browser
    // has read the fields: a button disabled earlier would not send its name and value.
    setTimeout(() => {
      if (event.defaultPrevented || form.target === "_blank") return;
      busy(form, event.submitter || form.querySelector("button[type=submit], button:not([type])"));
    }, 0);
  });

  // Back (or forward) to a page kept in the back/forward cache: its forms are idle again.
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[data-submitting]")) idle(form);
  });

  function dismiss(message) {
    message.classList.add("is-leaving");
    setTimeout(() => {
      const list = message.parentElement;
      message.remove();
      if (list && list.matches(".messages") && !list.children.length) list.remove(); // no gap left
    }, 200);
  }

  for (const message of document.querySelectorAll("[data-dismiss]")) {
    const close = Object.assign(document.createElement("button"), {
      type: "button", className: "message-close", textContent: "×",
    });
    close.setAttribute("aria-label", gettext("Dismiss"));
    close.addEventListener("click", () => dismiss(message));
    message.append(close);
    if (/message-(error|warning)/.test(message.className)) continue;
    let timer = setTimeout(() => dismiss(message), DISMISS_AFTER_MS);
    // Not while someone reads it (pointer over it, focus in it).
    const hold = () => clearTimeout(timer);
    const resume = () => { timer = setTimeout(() => dismiss(message), DISMISS_AFTER_MS / 2); };
    message.addEventListener("mouseenter", hold);
    message.addEventListener("focusin", hold);
    message.addEventListener("mouseleave", resume);
    message.addEventListener("focusout", resume);
  }

  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = Object.assign(document.createElement("textarea"), {value: text});
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    if (!done) throw new Error("copy refused");
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const label = button.dataset.copyLabel || (button.dataset.copyLabel = button.textContent);
    try {
      await copy(source.matches("input, textarea") ? source.value : source.textContent.trim());
      button.textContent = gettext("Copied");
    } catch (error) {
      button.textContent = gettext("Select and copy");
    }
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(() => { button.textContent = label; }, 2000);
  });

  // Header menus are <details>: with JavaScript, a click elsewhere or Escape closes them.
  const closeMenus = (except) => {
    for (const menu of document.querySelectorAll("details.menu[open]")) {
      if (menu !== except && !menu.contains(except)) menu.removeAttribute("open");
    }
  };
  document.addEventListener("click", (event) => closeMenus(event.target.closest("details.menu")));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeMenus(null); });
})();
