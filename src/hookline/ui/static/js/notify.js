/** Short messages in the status area at the bottom of the page, read out by screen readers. */

import { h } from "./dom.js";

/** Show `message` for a few seconds; kind is "info" or "error" (errors stay until dismissed). */
export function notify(message, kind = "info") {
  const area = document.getElementById("status");
  const close = h("button", { type: "button", class: "link", "aria-label": "Dismiss" }, "×");
  const toast = h("div", { class: `toast ${kind}` }, h("span", {}, message), close);
  close.addEventListener("click", () => toast.remove());
  // Only the newest messages stay, so a burst of saves never covers the page.
  while (area.childElementCount >= 2) area.firstElementChild.remove();
  area.append(toast);
  if (kind !== "error") setTimeout(() => toast.remove(), 4000);
}
