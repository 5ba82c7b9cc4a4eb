// After a failed submit the focus goes to what went wrong, so a screen reader reads it
// first and a keyboard starts there: the error summary, or else an error message at the
// top of the page (unless the page focused a control of its own, e.g. the time chosen).
// A link of the summary focuses its field and shows the field's question or label too.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[href^='#']");
      const field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      // The question's text or the field's label sits above the field: keep it in view.
      const context = field.closest(".question, .field") || field;
      context.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
    return;
  }
  const message = document.querySelector("main > .flash-error[role=alert]");
  // Autofocus happens after this event: ask for it rather than for the focused element.
  if (message && !document.querySelector("[autofocus]")) {
    message.setAttribute("tabindex", "-1");
    message.focus();
  }
});
