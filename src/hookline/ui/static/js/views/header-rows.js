/** Editable rows of HTTP headers (a name and a value each), with Add and Remove. */

import { h, replace } from "../dom.js";
import { withPicker } from "../forms/variable-picker.js";

/**
 * Rows for `headers` ([{name, value}]). Options: editable, noun (how a row is named in labels, e.g.
 * "response header" → "Name of response header 1"), where (the config path of the list, so API
 * problems land on their row), placeholder (for the value), variables (offer the variable picker on
 * values: groups, or a function giving them), adding (the Add button's text), none (the text shown
 * without rows). Returns {element, items()}.
 */
export function headerRows(
  headers,
  { editable = true, noun = "header", where, placeholder = "Value", variables, adding = "Add a header", none = "No headers." } = {},
) {
  const rows = (headers ?? []).map((header) => ({ name: header.name ?? "", value: header.value ?? "" }));
  const list = h("div", { class: "header-rows" });
  const addButton = editable
    ? h("button", { type: "button", onclick: () => addRow() }, adding)
    : null;
  const element = h("div", { class: "header-rows-wrap", "data-where": where }, list, addButton);

  function render() {
    replace(
      list,
      rows.length ? null : h("p", { class: "hint" }, none),
      rows.map((row, index) => rowElement(row, index)),
    );
  }

  function rowElement(row, index) {
    const at = where ? `${where}[${index}]` : undefined;
    const number = index + 1;
    const name = h("input", {
      type: "text",
      value: row.name,
      disabled: !editable,
      placeholder: "Name",
      autocomplete: "off",
      "aria-label": `Name of ${noun} ${number}`,
      oninput: (event) => (row.name = event.target.value),
    });
    const value = h("input", {
      type: "text",
      value: row.value,
      disabled: !editable,
      placeholder,
      autocomplete: "off",
      "aria-label": `Value of ${noun} ${number}`,
      oninput: (event) => (row.value = event.target.value),
    });
    return h(
      "div",
      { class: "row header-row", "data-where": at },
      h("div", { "data-where": at && `${at}.name` }, name),
      h(
        "div",
        { "data-where": at && `${at}.value` },
        editable && variables ? withPicker(value, { label: `Value of ${noun} ${number}`, variables }) : value,
      ),
      editable
        ? h("button", { type: "button", class: "icon danger-text", "aria-label": `Remove ${noun} ${number}`, title: "Remove", onclick: () => removeRow(index) }, "×")
        : null,
    );
  }

  function addRow() {
    rows.push({ name: "", value: "" });
    render();
    list.querySelector(".header-row:last-child input")?.focus();
  }

  function removeRow(index) {
    rows.splice(index, 1);
    render();
    (list.querySelectorAll("button")[Math.min(index, rows.length - 1)] ?? addButton)?.focus();
  }

  render();
  return { element, items: () => rows.map((row) => ({ ...row })) };
}
