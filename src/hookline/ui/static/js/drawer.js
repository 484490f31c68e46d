/** A panel that slides in from the right for editing one thing; Escape or Close dismisses it. */

import { h, uid } from "./dom.js";

let open = null;

/**
 * Open a drawer titled `title` holding `content`, with a footer of `actions` (buttons).
 * Returns {element, body, close}. Only one drawer is open at a time; focus returns on close.
 */
export function openDrawer({ title, content, actions = [], wide = false, onClose }) {
  open?.close();
  const returnFocus = document.activeElement;
  const titleId = uid("drawer-title");
  const closeButton = h("button", { type: "button", class: "icon", "aria-label": "Close" }, "×");
  const body = h("div", { class: "drawer-body" }, content);
  const panel = h(
    "aside",
    { class: `drawer${wide ? " wide" : ""}`, role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
    h("header", {}, h("h2", { id: titleId }, title), closeButton),
    body,
    actions.length ? h("footer", {}, actions) : null,
  );
  const backdrop = h("div", { class: "backdrop" });
  const onKey = (event) => {
    if (event.key === "Escape") drawer.close();
    if (event.key === "Tab") keepFocusInside(panel, event);
  };
  const drawer = {
    element: panel,
    body,
    close() {
      if (open !== drawer) return;
      open = null;
      panel.remove();
      backdrop.remove();
      document.removeEventListener("keydown", onKey);
      returnFocus?.focus?.();
      onClose?.();
    },
  };
  closeButton.addEventListener("click", () => drawer.close());
  backdrop.addEventListener("click", () => drawer.close());
  document.addEventListener("keydown", onKey);
  document.body.append(backdrop, panel);
  open = drawer;
  (panel.querySelector("input:not([type=hidden]), select, textarea") ?? closeButton).focus();
  return drawer;
}

/** The drawer that is open, if any. */
export function openedDrawer() {
  return open;
}

function keepFocusInside(panel, event) {
  const focusable = [...panel.querySelectorAll("button, input, select, textarea, a[href], [tabindex='0']")].filter(
    (node) => !node.disabled && node.offsetParent !== null,
  );
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    last.focus();
    event.preventDefault();
  } else if (!event.shiftKey && document.activeElement === last) {
    first.focus();
    event.preventDefault();
  }
}
