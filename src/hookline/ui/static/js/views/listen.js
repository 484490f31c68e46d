/** "Listen for a test request": capture the next request to the webhook URL, show it, and add its paths to the tables. */

import { api } from "../api.js";
import { h, pretty, replace, when } from "../dom.js";
import { mergeInto } from "./sample-parser.js";

const TIMEOUT_SECONDS = 60;

/** What each part of a captured request adds: the button's noun, and the path table it goes to. */
const PARTS = [
  ["headers", "header name"],
  ["query", "query path"],
  ["body", "body path"],
];

/**
 * The Listen button of workflow `workflowId`; a captured request's paths merge into `tables`
 * ({headers, query, body}: pathTables). Returns {element, cancel()}: cancel stops listening
 * (the drawer calls it when it closes).
 */
export function listener(workflowId, tables, { editable }) {
  let listening = null; // the AbortController of the capture being waited for
  const start = h("button", { type: "button", disabled: !editable }, "Listen for a test request");
  const stop = h("button", { type: "button", hidden: true }, "Cancel");
  const status = h("p", { class: "hint listen-status", "aria-live": "polite" });
  const captured = h("div", { class: "captured", hidden: true });

  start.addEventListener("click", async () => {
    listening = new AbortController();
    start.disabled = true;
    stop.hidden = false;
    stop.focus(); // the keyboard stays on what can be done now
    captured.hidden = true;
    status.textContent = `Listening: send a request to the webhook URL within ${TIMEOUT_SECONDS} seconds. It is captured, not run.`;
    try {
      const answer = await api.post(`/workflows/${workflowId}/capture`, { timeout: TIMEOUT_SECONDS }, { signal: listening.signal });
      if (answer.status === "captured") {
        status.textContent = `Captured a ${answer.request.method} request. Add the paths you need below.`;
        replace(captured, capturedView(answer, tables));
        captured.hidden = false;
      } else {
        status.textContent = `No request came within ${TIMEOUT_SECONDS} seconds. (The URL takes requests only while a version of the workflow is enabled.)`;
      }
    } catch (error) {
      status.textContent = listening.signal.aborted ? "Stopped listening." : `Could not listen: ${error.message}`;
    } finally {
      listening = null;
      start.disabled = !editable;
      start.textContent = "Listen again";
      stop.hidden = true;
      start.focus();
    }
  });
  const cancel = () => listening?.abort();
  stop.addEventListener("click", cancel);

  return {
    element: h(
      "div",
      { class: "listen" },
      h("p", { class: "hint" }, "Or let a real sender show what it sends: the next request to the webhook URL is held for you instead of running the workflow, and answered 202."),
      h("div", { class: "sample-actions" }, start, stop, status),
      captured,
    ),
    cancel,
  };
}

/** The captured request (method, type, time, headers, query, body) and a button per part to add its paths. */
function capturedView({ request, paths }, tables) {
  const results = h("p", { class: "hint", "aria-live": "polite" });
  const adders = PARTS.map(([part, noun]) => {
    const items = (paths?.[part] ?? []).map((key) => ({ key, alias: "" }));
    const count = items.length;
    return h(
      "button",
      {
        type: "button",
        disabled: count === 0,
        onclick: () => (results.textContent = `${capitalised(part)}: ${mergeInto(tables[part], items)}`),
      },
      `Add ${count} ${noun}${count === 1 ? "" : "s"}`,
    );
  });
  return [
    h(
      "p",
      { class: "captured-line" },
      h("strong", {}, request.method),
      " ",
      h("code", {}, request.contentType || "no Content-Type"),
      h("span", { class: "muted" }, ` · ${when(request.receivedAt)}`),
    ),
    shown("Headers", request.headers),
    shown("Query", request.query),
    shown("Body", request.body),
    h("div", { class: "sample-actions" }, adders),
    results,
  ];
}

function shown(title, value) {
  return h(
    "details",
    { open: title === "Body" },
    h("summary", {}, title),
    h("pre", { tabindex: "0", "aria-label": `Captured ${title.toLowerCase()}` }, typeof value === "string" ? value : pretty(value ?? null)),
  );
}

function capitalised(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
