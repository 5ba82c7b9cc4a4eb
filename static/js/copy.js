// A "Copy" button next to a one-time link: copies the link's text, says so in its status.
// The buttons stay hidden without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus);
    if (!field) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
      } catch {
        document.execCommand("copy");  // without the clipboard API (plain http)
      }
      if (status) status.textContent = button.dataset.copied;
    });
  }
});
