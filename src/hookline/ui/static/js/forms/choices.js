/** Small controls the node forms share: a select of known choices, and whole numbers that may be left empty. */

import { h } from "../dom.js";

/**
 * A select of [value, label] `options` with `current` chosen; a value the UI does not know stays
 * selected, labelled "(not available)", so saving shows the server's message about it.
 */
export function choiceSelect(options, current) {
  const known = options.some(([value]) => value === current);
  const all = known || current === undefined || current === null ? options : [...options, [current, `${current} (not available)`]];
  return h(
    "select",
    {},
    all.map(([value, label]) => h("option", { value, selected: value === current }, label)),
  );
}

/** A number input showing `value` (empty when it is not a number); `placeholder` shows the server's default. */
export function numberInput(value, { min, max, step = 1, placeholder = "" } = {}) {
  const shown = typeof value === "number" ? String(value) : "";
  return h("input", { type: "number", min, max, step, value: shown, placeholder, class: "short" });
}

/** The number typed into `input`, or undefined when it is empty (the server's default then applies). */
export function numberValue(input) {
  return input.value.trim() === "" ? undefined : Number(input.value);
}

/** Set `key` of `target` to `value`, or remove it when the value is undefined. */
export function setOrDrop(target, key, value) {
  if (value === undefined) delete target[key];
  else target[key] = value;
  return target;
}
