/** Rows of a name and a templated value (a request's headers, query parameters, form fields), with Add and Remove. */

import { h } from "../dom.js";
import { pairRows } from "./pair-rows.js";
import { withPicker } from "./variable-picker.js";

/**
 * The fieldset of {name, value} rows at the config path `where` (e.g. "config.headers"); `noun`
 * names one row ("Header" → "Header 1 name"). Each value has a variable picker. Entries keep the
 * fields the rows do not show (a multipart file's `filename`). A value that is not a string shows
 * as JSON (a form field may be a number), or with `jsonValues` off as the browser writes it.
 * Gives {element, read() → entries}.
 */
export function nameValueRows({ given, ctx, where, legend, noun, addLabel, hint = null, namePlaceholder = "", jsonValues = true }) {
  return pairRows({
    given: Array.isArray(given) ? given : [],
    ctx,
    row: (entry, rowCtx, remove) => nameValueRow(entry, rowCtx, remove, { where, noun, namePlaceholder, jsonValues }),
    blank: { name: "", value: "" },
    where,
    legend,
    addLabel,
    hint,
  });
}

function nameValueRow(entry, ctx, remove, { where, noun, namePlaceholder, jsonValues }) {
  const original = entry && typeof entry === "object" ? entry : {};
  const name = h("input", { type: "text", value: original.name ?? "", placeholder: namePlaceholder, spellcheck: "false" });
  const asText = typeof original.value === "string" || original.value == null || !jsonValues;
  const shown = asText ? original.value ?? "" : JSON.stringify(original.value);
  const value = h("input", { type: "text", value: shown, placeholder: "Text or {{ variable }}", spellcheck: "false" });
  const nameCell = h("div", { class: "pair-name" }, name);
  const valueBox = ctx.disabled ? value : withPicker(value, { label: `${noun} value`, variables: ctx.variables });
  const valueCell = h("div", { class: "pair-value" }, valueBox);
  const removeButton = h("button", { type: "button", class: "icon danger-icon" }, "×");
  removeButton.addEventListener("click", remove);
  const element = h("div", { class: "pair", role: "group" }, nameCell, valueCell, ctx.disabled ? null : removeButton);
  return {
    element,
    first: name,
    read: () => ({ ...original, name: name.value.trim(), value: value.value }),
    renumber(i) {
      const at = `${where}[${i}]`;
      const label = `${noun} ${i + 1}`;
      element.dataset.where = at;
      nameCell.dataset.where = `${at}.name`;
      valueCell.dataset.where = `${at}.value`;
      element.setAttribute("aria-label", label);
      name.setAttribute("aria-label", `${label} name`);
      value.setAttribute("aria-label", `${label} value`);
      removeButton.setAttribute("aria-label", `Remove ${noun.toLowerCase()} ${i + 1}`);
      valueBox.relabel?.(`${label} value`);
    },
  };
}
