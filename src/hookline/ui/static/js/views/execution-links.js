/** Links between executions a subflow node ties together: the parent that called one, the child a job started. */

import { h } from "../dom.js";
import { shortId } from "./execution-list.js";

/** "Called by execution <link>" for an execution a subflow node started; null for one a webhook started. */
export function parentLink(execution) {
  if (typeof execution.parent_id !== "string" || !execution.parent_id) return null;
  return h("p", { class: "execution-link parent-link" }, "Called by ", executionLink(execution.parent_id));
}

/** "Child execution <link>" for a subflow job whose result names the execution it started; null for any other job. */
export function childLink(node, job) {
  const child = job.result?.execution;
  if (node.type !== "subflow" || typeof child !== "string" || !child) return null;
  // The card says which workflow the node calls ("calls <key>"), so the line names only the run.
  return h("p", { class: "execution-link child-link" }, "Child ", executionLink(child));
}

/** A link to the page of execution `id`, named "execution …<last 8 digits>" with the whole id as its title. */
function executionLink(id) {
  return h("a", { href: `#/executions/${encodeURIComponent(id)}`, title: id }, "execution ", h("code", {}, shortId(id)));
}
