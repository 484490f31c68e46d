/** A table of request paths (header names, query or body paths): each row a key, an editable alias and Delete. */

import { h, replace } from "../dom.js";

/**
 * A path table over `items` ([{key, alias}]; other fields of an item, such as `_var`, are kept).
 * Options: editable (alias inputs, Delete, and a row to add a path by hand), label (the name of the
 * key column, e.g. "Body path"), where (the config path of the list, e.g. "config.request.body", so
 * that API problems land on their row). Returns {element, items(), add(items)}; add() merges: rows
 * that exist keep their alias, new keys are appended, and it answers how many were new.
 */
export function pathTable(items, { editable = true, label = "Path", where } = {}) {
  const rows = [];
  const body = h("tbody");
  const empty = h("p", { class: "hint path-empty" }, "No rows yet.");
  const table = h(
    "table",
    { class: "list path-table" },
    h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, label), h("th", { scope: "col" }, "Alias"), editable ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
    body,
  );
  const frame = h("div", { class: "table-wrap" }, table);
  const element = h("div", { class: "path-table-wrap", "data-where": where }, frame, empty, editable ? adder() : null);

  function render() {
    replace(body, rows.map((row, index) => rowElement(row, index)));
    frame.hidden = rows.length === 0;
    empty.hidden = rows.length > 0;
  }

  function rowElement(row, index) {
    const at = where ? `${where}[${index}]` : undefined;
    const alias = h("input", {
      type: "text",
      value: row.alias ?? "",
      disabled: !editable,
      "aria-label": `Alias of ${row.key}`,
      placeholder: "Display name (optional)",
      oninput: (event) => (row.alias = event.target.value),
    });
    const remove = editable
      ? h("button", { type: "button", class: "icon danger-text", "aria-label": `Delete ${row.key}`, title: "Delete", onclick: () => removeRow(index) }, "×")
      : null;
    return h(
      "tr",
      {},
      h("td", { "data-where": at }, h("code", {}, row.key)),
      h("td", { "data-where": at && `${at}.alias` }, alias),
      editable ? h("td", { class: "row-actions" }, remove) : null,
    );
  }

  function removeRow(index) {
    rows.splice(index, 1);
    render();
    // Keep the keyboard where it was: on the next row's Delete, else on the row to add paths.
    const buttons = body.querySelectorAll("button");
    (buttons[Math.min(index, buttons.length - 1)] ?? element.querySelector(".path-adder input"))?.focus();
  }

  function add(newItems) {
    const known = new Set(rows.map((row) => row.key));
    let added = 0;
    for (const item of newItems) {
      if (!item?.key || known.has(item.key)) continue;
      known.add(item.key);
      rows.push({ ...item, alias: item.alias ?? "" });
      added += 1;
    }
    render();
    return added;
  }

  function adder() {
    const input = h("input", { type: "text", "aria-label": `New ${label.toLowerCase()}`, placeholder: `New ${label.toLowerCase()}` });
    const note = h("p", { class: "hint", "aria-live": "polite" });
    const addTyped = () => {
      const key = input.value.trim();
      if (!key) {
        note.textContent = `Type a ${label.toLowerCase()} first.`;
        return input.focus();
      }
      note.textContent = add([{ key, alias: "" }]) ? "" : `${key} is already in the table.`;
      input.value = "";
      input.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter adds the row; it must not submit the drawer's form
        addTyped();
      }
    });
    return h("div", { class: "path-adder" }, h("div", { class: "row" }, input, h("button", { type: "button", onclick: addTyped }, "Add a row")), note);
  }

  add(items ?? []);
  return {
    element,
    items: () => rows.map((row) => ({ ...row })),
    add,
  };
}
