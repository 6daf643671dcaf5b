// Forms with data-confirm="what will happen" ask in a <dialog> before submitting, then
// submit with confirmed=yes. Without this script the server asks on a page of its own
// (kernel/pages.py confirmation), so the form works either way.
(() => {
  "use strict";
  if (window.confirmJsLoaded) return; // base.html and a page may both include it
  window.confirmJsLoaded = true;
  // The page's language (Django's JavaScriptCatalog, loaded first by base.html); looked
  // up when a text is shown, so the order the scripts run in does not matter.
  const gettext = (text) => (window.gettext ? window.gettext(text) : text);
  let dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-text");
    dialog.innerHTML =
      '<form method="dialog">' +
      '<h2 id="confirm-dialog-title"></h2>' +
      '<p id="confirm-dialog-text"></p>' +
      '<div class="confirm-actions">' +
      '<button value="confirm" class="button button-danger" data-confirm-ok></button>' +
      '<button value="cancel" class="button button-quiet" data-confirm-cancel></button>' +
      "</div></form>";
    dialog.querySelector("#confirm-dialog-title").textContent = gettext("Are you sure?");
    dialog.querySelector("[data-confirm-cancel]").textContent = gettext("Cancel");
    document.body.appendChild(dialog);
    return dialog;
  }

  function ask(form, submitter) {
    const box = dialog || build();
    box.querySelector("#confirm-dialog-text").textContent = form.dataset.confirm;
    box.querySelector("[data-confirm-ok]").textContent = form.dataset.confirmButton || gettext("Confirm");
    box.returnValue = "";
    box.onclose = () => {
      if (box.returnValue !== "confirm") {
        if (submitter) submitter.focus();
        return;
      }
      let flag = form.querySelector('input[name="confirmed"]');
      if (!flag) {
        flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "confirmed";
        form.appendChild(flag);
      }
      flag.value = "yes";
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter || undefined);
    };
    box.showModal(); // Escape closes it with returnValue "" (cancel)
    box.querySelector("[data-confirm-cancel]").focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    ask(form, event.submitter);
  }, true);
})();
