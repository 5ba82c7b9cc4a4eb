// The opening-hours editor: "Add an interval" and "Remove" change the rows in the page.
// Without this script the same buttons post the form and the server redraws it.
"use strict";

const MAX_ROWS = 12;

function renumber(row, oldName, newName, position) {
  for (const element of row.querySelectorAll("[id], [for], [name]")) {
    for (const attribute of ["id", "for", "name"]) {
      const value = element.getAttribute(attribute);
      if (value && value.startsWith(oldName + "-")) {
        element.setAttribute(attribute, newName + value.slice(oldName.length));
      }
    }
  }
  row.dataset.row = newName;
  const remove = row.querySelector("[data-remove-row]");
  if (remove) remove.value = newName;
  for (const hidden of row.querySelectorAll(".visually-hidden")) {
    hidden.textContent = hidden.textContent.replace(/\d+$/, String(position));
  }
}

function addRow(day) {
  const list = document.querySelector(`[data-rows="${day}"]`);
  const rows = list.querySelectorAll(".interval");
  if (rows.length >= MAX_ROWS) return;
  const last = rows[rows.length - 1];
  const next = Math.max(...Array.from(rows, (r) => Number(r.dataset.row.split("-")[1]))) + 1;
  const copy = last.cloneNode(true);
  renumber(copy, last.dataset.row, `${day}-${next}`, rows.length + 1);
  for (const input of copy.querySelectorAll("input")) {
    input.value = "";
    input.setAttribute("aria-invalid", "false");
  }
  for (const error of copy.querySelectorAll(".field-error")) error.remove();
  for (const field of copy.querySelectorAll(".has-error")) field.classList.remove("has-error");
  list.append(copy);
  copy.querySelector("input").focus();
}

function removeRow(row) {
  const list = row.parentElement;
  if (list.querySelectorAll(".interval").length > 1) {
    const day = list.dataset.rows;
    row.remove();
    document.querySelector(`[data-add-row="${day}"]`).focus();
  } else {
    for (const input of row.querySelectorAll("input")) input.value = "";
    row.querySelector("input").focus();
  }
}

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    event.preventDefault();
    addRow(add.dataset.addRow);
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    event.preventDefault();
    removeRow(remove.closest(".interval"));
  }
});
