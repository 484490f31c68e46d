/** Small pieces several pages show: the breadcrumb trail, the mode and status badges, a version's number. */

import { h } from "../dom.js";

/** The breadcrumb trail: "Workflows" first, then each [label, href] given, joined by " / ". */
export function crumbs(...links) {
  const trail = [["Workflows", "#/"], ...links].flatMap(([label, href], i) => [
    i ? " / " : null,
    h("a", { href }, label),
  ]);
  return h("p", { class: "crumbs" }, trail);
}

/** "Sync" or "Async", as a badge. */
export function modeBadge(workflow) {
  return h("span", { class: `badge ${workflow.sync ? "sync" : "async"}` }, workflow.sync ? "Sync" : "Async");
}

/** An execution or job status, as a badge coloured by status. */
export function statusBadge(status, attrs = {}) {
  return h("span", { class: `badge ${status}`, ...attrs }, status);
}

/** The number people see for a version: its place among its key's versions, oldest first (1, 2, …). */
export function versionNumber(versions, id) {
  return versions.findIndex((v) => v.id === id) + 1;
}
