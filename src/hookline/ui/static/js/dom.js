/** Small helpers to build and change DOM elements without a framework. */

/**
 * Make an element: h("button", {class: "primary", onclick: save}, "Save").
 * Attributes starting with "on" become listeners; value, checked, disabled and hidden are set as
 * properties; null, undefined and false children are skipped; arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (["value", "checked", "disabled", "hidden", "selected", "indeterminate"].includes(name)) {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append children (strings, nodes, arrays of them; nullish and false are skipped). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace every child of `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let counter = 0;

/** A unique id for linking labels, descriptions and controls. */
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled field: a label above the control, with an optional hint, as one block. */
export function field(label, control, { hint, where } = {}) {
  control.id ||= uid("field");
  const hintNode = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field", "data-where": where }, h("label", { for: control.id }, label), control, hintNode);
}

/** An on/off switch (a checkbox with the switch role) with its label. */
export function toggle(label, checked, { onchange, where } = {}) {
  const input = h("input", { type: "checkbox", role: "switch", checked, onchange, id: uid("switch") });
  const wrapper = h("div", { class: "field switch", "data-where": where }, input, h("label", { for: input.id }, label));
  return { element: wrapper, input };
}

/**
 * A switch with a hint under it, and `fields` shown only while it is on; switching it on moves the
 * focus to `focus`. Options as toggle's, plus editable. Returns {element, input}.
 */
export function switchedFields(label, checked, { fields, hint, where, editable = true, focus } = {}) {
  fields.hidden = !checked;
  const onchange = (event) => {
    fields.hidden = !event.target.checked;
    if (event.target.checked) focus?.focus();
  };
  const { element, input } = toggle(label, checked, { where, onchange });
  input.disabled = !editable;
  return { element: h("div", {}, element, hint ? h("p", { class: "hint" }, hint) : null, fields), input };
}

/** Format an ISO time for people, in their own time zone. */
export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** The time between two ISO times, short ("85 ms", "2.4 s", "3 min"). */
export function duration(startIso, endIso) {
  if (!startIso || !endIso) return "—";
  const ms = new Date(endIso) - new Date(startIso);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Pretty JSON for display. */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** Copy text to the clipboard; falls back to selecting a temporary field where the API is missing. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { class: "offscreen", readonly: true }, text);
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}
