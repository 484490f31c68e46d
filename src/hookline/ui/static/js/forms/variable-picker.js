/** The "Insert variable" button beside a templated field, and its keyboard-navigable menu of variables. */

import { field, h, uid } from "../dom.js";
import { moveFocus } from "../menu-keys.js";

let openMenu = null;

/**
 * A labelled field (as dom.field) whose text control has an "Insert variable" button, unless
 * `disabled` (a read-only form has nothing to insert into).
 */
export function pickerField(label, control, { where, hint, variables, json = false, disabled = false }) {
  const element = field(label, control, { where, hint });
  if (!disabled) {
    const spot = document.createComment("");
    control.replaceWith(spot);
    spot.replaceWith(withPicker(control, { label, variables, json }));
  }
  return element;
}

/**
 * Put `control` (a text input or textarea) in a box with an "Insert variable" button.
 * `label` names the field; `variables` are groups from variablesAt() (or a function giving them
 * when the menu opens); with `json`, a variable typed
 * outside a JSON string is inserted as a quoted string. Returns the box, to use in place of the control;
 * box.relabel(label) renames the button when the field's name changes (rows renumbered).
 */
export function withPicker(control, { label, variables, json = false }) {
  const button = h(
    "button",
    {
      type: "button",
      class: "icon picker-button",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      title: "Insert variable",
    },
    "{x}",
  );
  let touched = false;
  control.addEventListener("focus", () => (touched = true));
  const box = h("div", { class: `templated${control.tagName === "TEXTAREA" ? " multiline" : ""}` }, control, button);
  box.relabel = (text) => {
    label = text;
    button.setAttribute("aria-label", `Insert variable into ${label}`);
  };
  box.relabel(label);
  button.addEventListener("click", () => {
    if (openMenu?.button === button) return openMenu.close(true);
    const at = touched ? [control.selectionStart, control.selectionEnd] : [control.value.length, control.value.length];
    const groups = typeof variables === "function" ? variables() : variables;
    showMenu(box, button, label, groups, (text) => insert(control, text, at, json));
  });
  return box;
}

/** Insert `text` over the range `at` of the control, tell listeners, and put the cursor after it. */
function insert(control, text, [start, end], json) {
  const before = control.value.slice(0, start);
  const asJson = typeof json === "function" ? json() : json;
  const value = asJson && !insideJsonString(before) ? JSON.stringify(text) : text;
  control.setRangeText(value, start, end, "end");
  control.dispatchEvent(new Event("input", { bubbles: true }));
  control.focus();
}

/** Whether the end of `text` is inside a JSON string literal. */
export function insideJsonString(text) {
  let inside = false;
  for (let i = 0; i < text.length; i += 1) {
    if (inside && text[i] === "\\") i += 1;
    else if (text[i] === '"') inside = !inside;
  }
  return inside;
}

function showMenu(box, button, label, variables, choose) {
  openMenu?.close(false);
  const items = [];
  const item = (variable) => {
    const element = h(
      "button",
      { type: "button", role: "menuitem", tabindex: "-1", class: "variable", title: variable.text },
      h("span", {}, variable.label),
      variable.detail ? h("span", { class: "variable-detail" }, variable.detail) : null,
    );
    element.addEventListener("click", () => {
      menu.close(false);
      choose(variable.text);
    });
    items.push(element);
    return element;
  };
  const groups = variables.filter((group) => group.items.length);
  const menuElement = h(
    "div",
    { class: "menu variable-menu", role: "menu", "aria-label": `Variables for ${label}` },
    groups.map((group) => {
      const headingId = uid("variables");
      return h(
        "div",
        { role: "group", "aria-labelledby": headingId, class: "variable-group" },
        h("div", { role: "presentation", id: headingId, class: "menu-heading" }, group.label),
        group.items.map(item),
      );
    }),
    groups.length
      ? null
      : h(
          "p",
          { role: "none", class: "menu-empty" },
          "No variables yet: list the request's headers, query or body items in the trigger.",
        ),
  );
  const menu = {
    button,
    close(refocus) {
      if (openMenu !== menu) return;
      openMenu = null;
      menuElement.remove();
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    },
  };
  menuElement.addEventListener("keydown", (event) => onKey(event, items, menu));
  menuElement.addEventListener("focusout", (event) => {
    if (!menuElement.contains(event.relatedTarget) && event.relatedTarget !== button) menu.close(false);
  });
  box.append(menuElement);
  button.setAttribute("aria-expanded", "true");
  openMenu = menu;
  if (!items.length) menuElement.tabIndex = -1;
  (items[0] ?? menuElement).focus();
}

function onKey(event, items, menu) {
  if (event.key === "Escape") {
    // The drawer closes on Escape too; only the menu should.
    event.stopPropagation();
    menu.close(true);
  } else if (event.key === "Tab") {
    // Back on the button first, so Tab goes on from the field rather than from the page's start.
    menu.close(true);
  } else {
    moveFocus(event, items);
  }
}
