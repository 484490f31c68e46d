/** One execution: status and times, Replay / Resume / Cancel, the flow with each node's job, the trigger data and the answer. */

import { api } from "../api.js";
import { copyText, duration, h, pretty, replace, when } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { navigate } from "../router.js";
import { drawFlow, typeLabel } from "./canvas.js";
import { childLink, parentLink } from "./execution-links.js";
import { shortId } from "./execution-list.js";
import { attemptList, jobNotes, waitingNote } from "./job-notes.js";
import { crumbs, modeBadge, statusBadge, versionNumber } from "./page-parts.js";

const RUNNING = ["queued", "started", "waiting"];
// The statuses the API resumes (ExecutionAdmin.RESUMABLE): they continue from the node that did not resolve.
const RESUMABLE = ["failed", "error", "aborted"];
const POLL_MS = 1000;
const POLL_LIMIT = 300; // about five minutes of checking; after that the Refresh button is the way

/** The page of one execution, for #/executions/:id; it updates itself while the execution runs. */
export async function executionView(root, { id }, context) {
  const execution = await api.get(`/executions/${id}`);
  if (!context.isCurrent()) return;
  const [workflow, versions] = await Promise.all([
    api.get(`/workflows/${execution.workflow_id}`),
    api.get(`/workflows/${execution.workflow_id}/versions`),
  ]);
  if (!context.isCurrent()) return;
  const page = {
    root,
    context,
    workflow,
    number: versionNumber(versions.items, workflow.id),
    versions: versions.items.length,
    execution,
    watching: false,
    stopped: false,
    busy: false,
  };
  paint(page);
  watch(page);
}

/** Check the execution every second while it is queued or running and this page is shown, a bounded number of times. */
function watch(page) {
  if (page.watching || !RUNNING.includes(page.execution.status)) return;
  page.watching = true;
  page.stopped = false;
  let polls = 0;
  const tick = async () => {
    if (!page.context.isCurrent()) return;
    polls += 1;
    try {
      await reload(page);
    } catch (error) {
      if (!page.context.isCurrent()) return;
      page.watching = false;
      if (error.status !== 401) notify(`Stopped checking the execution: ${error.message}`, "error");
      return;
    }
    if (!page.context.isCurrent()) return;
    if (!RUNNING.includes(page.execution.status)) {
      page.watching = false;
    } else if (polls >= POLL_LIMIT) {
      page.watching = false;
      page.stopped = true;
      paint(page);
    } else {
      setTimeout(tick, POLL_MS);
    }
  };
  setTimeout(tick, POLL_MS);
}

/** Fetch the execution again and repaint when something changed. */
async function reload(page) {
  const fresh = await api.get(`/executions/${page.execution.id}`);
  if (!page.context.isCurrent()) return;
  const changed = JSON.stringify(fresh) !== JSON.stringify(page.execution);
  page.execution = fresh;
  if (changed) paint(page);
}

/** Draw the whole page from page.execution, keeping focus and the open/closed state of the details. */
function paint(page) {
  const { root, workflow, execution } = page;
  const hadFocus = root.contains(document.activeElement) && document.activeElement !== root;
  const focused = document.activeElement?.dataset?.keep;
  const closed = new Set([...root.querySelectorAll("details[data-keep]")].filter((d) => !d.open).map((d) => d.dataset.keep));
  const opened = new Set([...root.querySelectorAll("details[data-keep]")].filter((d) => d.open).map((d) => d.dataset.keep));
  replace(
    root,
    header(page),
    parentLink(execution),
    facts(page),
    execution.error ? h("p", { class: "execution-error" }, h("strong", {}, "Error: "), execution.error) : null,
    runningNote(page),
    h("h2", { class: "section-title" }, "Flow"),
    flow(page),
    contextSection(execution.context),
    responseSection(execution, workflow),
    execution.output === null || execution.output === undefined ? null : outputSection(execution.output),
  );
  for (const details of root.querySelectorAll("details[data-keep]")) {
    if (closed.has(details.dataset.keep)) details.open = false;
    if (opened.has(details.dataset.keep)) details.open = true;
  }
  // A repaint replaces every element: focus goes back to the same control, or to the page when it is gone.
  if (hadFocus) ((focused && root.querySelector(`[data-keep="${CSS.escape(focused)}"]`)) || root).focus();
}

function header(page) {
  const { workflow, execution } = page;
  return h(
    "div",
    { class: "page-head" },
    h(
      "div",
      {},
      crumbs([workflow.title, `#/workflows/${workflow.id}`], ["Executions", `#/workflows/${workflow.id}/executions`]),
      h(
        "h1",
        {},
        "Execution ",
        h("code", { title: execution.id }, shortId(execution.id)),
        statusBadge(execution.status, { "data-status": execution.status }),
      ),
      h(
        "p",
        { class: "meta" },
        modeBadge(workflow),
        h("a", { href: `#/workflows/${workflow.id}` }, `Version ${page.number} of ${page.versions}`),
      ),
    ),
    h("div", { class: "actions" }, actions(page)),
  );
}

function actions(page) {
  const { execution } = page;
  const button = (label, keep, onclick, hint, extra = {}) =>
    h("button", { type: "button", "data-keep": keep, title: hint, onclick: () => act(page, onclick), ...extra }, label);
  return [
    button("Replay", "replay", () => replay(execution), "Run the same trigger data again, on the current version", {
      class: "primary",
    }),
    RESUMABLE.includes(execution.status)
      ? button("Resume", "resume", () => resume(page), "Run again from the node that did not resolve, on this version")
      : null,
    RUNNING.includes(execution.status)
      ? button("Cancel", "cancel", () => cancel(page), "Stop this execution", { class: "danger" })
      : null,
    button("Refresh", "refresh", () => refresh(page), "Load the execution again"),
  ];
}

/** Run one action at a time; a failure is said in a message, never thrown into the page. */
async function act(page, action) {
  if (page.busy) return;
  page.busy = true;
  try {
    await action();
  } catch (error) {
    if (error.status !== 401 && page.context.isCurrent()) notify(error.message, "error");
  } finally {
    page.busy = false;
  }
}

async function replay(execution) {
  const { execution: fresh, answer } = await api.post(`/executions/${execution.id}/replay`);
  notify(
    fresh.status === "queued"
      ? "Replayed: the new execution is queued."
      : `Replayed: the new execution ${fresh.status} and answered ${answer.statusCode}.`,
  );
  navigate(`/executions/${fresh.id}`);
}

async function resume(page) {
  await api.post(`/executions/${page.execution.id}/resume`);
  notify("Resumed: the execution is queued and continues from the node that did not resolve.");
  await refresh(page);
}

async function cancel(page) {
  await api.post(`/executions/${page.execution.id}/cancel`);
  notify("Canceled the execution.");
  await refresh(page);
}

async function refresh(page) {
  await reload(page);
  watch(page);
}

function facts(page) {
  const { execution } = page;
  const item = (term, value, wide = false) => h("div", { class: wide ? "wide" : null }, h("dt", {}, term), h("dd", {}, value));
  return h(
    "dl",
    { class: "facts" },
    item("Received", when(execution.created_at)),
    item("Started", when(execution.started_at)),
    item("Finished", when(execution.finished_at)),
    item("Duration", duration(execution.started_at, execution.finished_at)),
    item("Attempt", String(execution.attempt)),
    item("Id", h("code", {}, execution.id), true),
    item("Event key", h("code", {}, execution.event_key), true),
  );
}

function runningNote(page) {
  if (!RUNNING.includes(page.execution.status)) return null;
  const pending = (page.execution.jobs ?? []).find((job) => job.status === "pending" && job.meta?.waitingUntil);
  const state =
    page.execution.status === "waiting" && pending
      ? [waitingNote(pending.meta.waitingUntil, pending.meta.waitReason), ", holding no worker"]
      : page.execution.status;
  return h(
    "p",
    { class: "notice running-note" },
    page.stopped
      ? "Stopped checking for changes. Use Refresh to see where the execution is now."
      : ["The execution is ", state, ": this page updates by itself."],
  );
}

/** The canvas of the execution's version, each node showing its job (or that it did not run). */
function flow(page) {
  const { workflow, execution } = page;
  const jobsByNode = new Map();
  for (const job of execution.jobs ?? []) {
    jobsByNode.set(job.node_id, [...(jobsByNode.get(job.node_id) ?? []), job]);
  }
  const running = RUNNING.includes(execution.status);
  return drawFlow(workflow, {
    editable: false,
    decorate: (node) => jobBadge(node, jobsByNode.get(node.id) ?? [], running),
    decorateTrigger: () => h("p", { class: "job-note" }, `Received ${when(execution.created_at)}`),
    onTrigger: () => document.getElementById("trigger-context")?.scrollIntoView(),
    onEdit: (node) => openJobDrawer(node, jobsByNode.get(node.id) ?? [], running),
    onCopyKey: async (node) => notify((await copyText(node.key)) ? `Copied the key ${node.key}.` : "Could not copy."),
  });
}

function jobBadge(node, jobs, running) {
  if (!jobs.length) {
    return h("div", { class: "job not-run" }, h("span", { class: "muted" }, running ? "not run yet" : "did not run"));
  }
  const job = jobs[jobs.length - 1];
  return h(
    "div",
    { class: `job ran ${job.status}` },
    h(
      "p",
      { class: "job-line" },
      statusBadge(job.status),
      h("span", { class: "muted" }, duration(job.started_at, job.finished_at)),
      jobs.length > 1 ? h("span", { class: "muted" }, `${jobs.length} runs`) : null,
      jobNotes(job),
    ),
    childLink(node, job),
    // Many nodes (a Response, an End) have no result: an empty "Result" would only be noise.
    job.result === null || job.result === undefined
      ? null
      : h(
          "details",
          { class: "job-result", "data-keep": `result-${node.key}` },
          h("summary", {}, "Result"),
          h("pre", {}, pretty(job.result)),
        ),
  );
}

/** A read-only drawer with every run of a node: status, times, result and meta, then the node's config. */
function openJobDrawer(node, jobs, running) {
  const runs = jobs.map((job, i) =>
    h(
      "section",
      { class: "job-run" },
      h(
        "h3",
        {},
        jobs.length > 1 ? `Run ${i + 1} ` : "Job ",
        statusBadge(job.status),
      ),
      h(
        "p",
        { class: "hint" },
        `Started ${when(job.started_at)} · finished ${when(job.finished_at)} · ${duration(job.started_at, job.finished_at)}`,
      ),
      jobNotes(job).length ? h("p", { class: "job-line" }, jobNotes(job)) : null,
      childLink(node, job),
      attemptList(job.meta),
      h("h4", {}, "Result"),
      h("pre", {}, pretty(job.result ?? null)),
      h("h4", {}, "Meta"),
      h("pre", {}, pretty(job.meta ?? null)),
    ),
  );
  openDrawer({
    title: `${node.title || typeLabel(node.type)} (${node.key})`,
    content: [
      runs.length ? runs : h("p", { class: "muted" }, running ? "This node has not run yet." : "This node did not run."),
      h("section", {}, h("h3", {}, "Config"), h("pre", {}, pretty(node.config ?? null))),
    ],
  });
}

function contextSection(context) {
  const { headers, query, body, ...other } = context ?? {};
  return h(
    "section",
    { class: "execution-section", id: "trigger-context", "aria-labelledby": "trigger-context-title" },
    h("h2", { id: "trigger-context-title" }, "Trigger context"),
    jsonBlock("Headers", headers, "context-headers"),
    jsonBlock("Query", query, "context-query"),
    jsonBlock("Body", body, "context-body"),
    Object.keys(other).length ? jsonBlock("Other values", other, "context-other") : null,
  );
}

function responseSection(execution, workflow) {
  const response = execution.response;
  const hint = workflow.sync
    ? "The answer the caller got when the workflow finished."
    : "The workflow is asynchronous: this answer was sent as soon as the event was recorded.";
  return h(
    "section",
    { class: "execution-section", "aria-labelledby": "response-title" },
    h("h2", { id: "response-title" }, "Response sent"),
    response
      ? [
          h("p", { class: "hint" }, hint),
          h("p", { class: "response-status" }, "Status ", h("strong", {}, String(response.statusCode))),
          headerTable(response.headers ?? []),
          jsonBlock("Body", response.body, "response-body"),
        ]
      : h("p", { class: "muted" }, "No answer was recorded for this execution."),
  );
}

function headerTable(headers) {
  if (!headers.length) return h("p", { class: "muted" }, "No headers set by the workflow.");
  return h(
    "table",
    { class: "list response-headers" },
    h("caption", { class: "visually-hidden" }, "Response headers"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Header"), h("th", { scope: "col" }, "Value"))),
    h(
      "tbody",
      {},
      headers.map((header) => h("tr", {}, h("td", {}, h("code", {}, header.name)), h("td", {}, h("code", {}, header.value)))),
    ),
  );
}

function outputSection(output) {
  return h(
    "section",
    { class: "execution-section", "aria-labelledby": "output-title" },
    h("h2", { id: "output-title" }, "Output"),
    h("pre", {}, pretty(output)),
  );
}

/** A titled block of JSON (text stays text), open by default. */
function jsonBlock(label, value, keep) {
  const text = typeof value === "string" ? value : pretty(value ?? null);
  return h("details", { class: "json-block", open: true, "data-keep": keep }, h("summary", {}, label), h("pre", {}, text));
}
