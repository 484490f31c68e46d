/** The executions of a workflow key (every version), newest first, with a status filter and "Show older". */

import { api, qs } from "../api.js";
import { duration, field, h, replace, when } from "../dom.js";
import { notify } from "../notify.js";
import { navigate } from "../router.js";
import { crumbs, statusBadge } from "./page-parts.js";

/** Every execution status, in the order an execution goes through them. */
export const STATUSES = ["queued", "started", "waiting", "resolved", "failed", "error", "aborted", "canceled", "rejected"];

const PAGE = 50;

// Set when the filter changed the hash, so the re-rendered page puts focus back on the filter.
let refocusFilter = false;

/** An execution id as people read it in a list: its last digits (the full id is in the link's title). */
export function shortId(id) {
  return id.length > 8 ? `…${id.slice(-8)}` : id;
}

/** The page of one workflow's executions, for #/workflows/:id/executions?status=…. */
export async function executionListView(root, { id }, context) {
  const [workflow, versions] = await Promise.all([api.get(`/workflows/${id}`), api.get(`/workflows/${id}/versions`)]);
  if (!context.isCurrent()) return;
  const numbers = new Map(versions.items.map((version, i) => [version.id, i + 1]));
  const wanted = context.query.get("status") ?? "";
  const status = STATUSES.includes(wanted) ? wanted : "";

  const filter = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)),
  );
  filter.addEventListener("change", () => {
    refocusFilter = true;
    navigate(`/workflows/${id}/executions${qs({ status: filter.value })}`);
  });
  const refresh = h("button", { type: "button", onclick: () => load(null).catch(failed) }, "Refresh");
  const table = h("div", { class: "table-wrap", "aria-busy": "true" });
  const more = h("div", { class: "pager" });

  replace(
    root,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        crumbs([workflow.title, `#/workflows/${workflow.id}`]),
        h("h1", {}, "Executions"),
        h("p", { class: "meta" }, "Every version of ", h("code", {}, workflow.key), ", newest first."),
      ),
    ),
    h("div", { class: "toolbar executions-toolbar" }, field("Status", filter), refresh),
    table,
    more,
  );
  if (refocusFilter) {
    refocusFilter = false;
    filter.focus();
  }
  await load(null);

  /** Load the newest page (before = null, replacing the rows) or the page older than `before` (appending). */
  async function load(before) {
    table.setAttribute("aria-busy", "true");
    const page = await api.get(`/executions${qs({ workflow: workflow.key, status, limit: PAGE, before })}`);
    if (!context.isCurrent()) return;
    table.setAttribute("aria-busy", "false");
    if (before === null && !page.items.length) {
      replace(
        table,
        h(
          "p",
          { class: "empty" },
          status
            ? `No execution of this workflow is ${status}.`
            : "No executions yet. Call the webhook URL, or send a test request from the workflow page.",
        ),
      );
    } else if (before === null) {
      replace(table, listTable(page.items.map((execution) => row(execution, numbers))));
    } else {
      table.querySelector("tbody").append(...page.items.map((execution) => row(execution, numbers)));
    }
    replace(
      more,
      page.next_before === null
        ? null
        : h("button", { type: "button", onclick: () => load(page.next_before).catch(failed) }, "Show older"),
    );
  }
}

function failed(error) {
  if (error.status !== 401) notify(error.message, "error"); // a 401 signs out, which says so itself
}

function listTable(rows) {
  const headings = ["Execution", "Status", "Version", "Started", "Duration"];
  return h(
    "table",
    { class: "list executions" },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows),
  );
}

function row(execution, numbers) {
  const number = numbers.get(execution.workflow_id);
  return h(
    "tr",
    { "data-execution": execution.id },
    h(
      "td",
      {},
      h(
        "a",
        { href: `#/executions/${execution.id}`, title: `Execution ${execution.id}` },
        h("code", {}, shortId(execution.id)),
      ),
    ),
    h("td", {}, statusBadge(execution.status)),
    h("td", {}, number ? h("a", { href: `#/workflows/${execution.workflow_id}`, class: "plain" }, `v${number}`) : "—"),
    h("td", {}, when(execution.started_at)),
    h("td", {}, duration(execution.started_at, execution.finished_at)),
  );
}
