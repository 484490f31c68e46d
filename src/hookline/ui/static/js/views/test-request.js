/** The "Send a test request" drawer: call the workflow's real webhook URL from the browser and show the answer. */

import { field, h, pretty, replace, uid } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { headerRows } from "./header-rows.js";
import { readSamples } from "./samples.js";

const METHODS = ["POST", "GET", "PUT", "PATCH", "DELETE"];
const EXECUTION_HEADER = "X-Hookline-Execution";

/** Open the test-request form for a workflow version, prefilled from its trigger config and saved samples. */
export function openTestRequest(workflow) {
  const config = workflow.config ?? {};
  const samples = readSamples(workflow.key);
  const auth = config.basicAuthentication || {};

  const method = h("select", {}, METHODS.map((name) => h("option", { value: name }, name)));
  const query = h("input", { type: "text", class: "code", spellcheck: "false", value: queryPart(samples.query ?? ""), placeholder: "source=shop&order[id]=42" });
  const headers = headerRows(
    (config.request?.headers ?? []).map((item) => ({ name: item.key, value: "" })),
    { noun: "request header" },
  );
  const username = h("input", { type: "text", value: auth.username ?? "", autocomplete: "off" });
  const password = h("input", { type: "password", value: auth.password ?? "", autocomplete: "new-password" });
  const body = h(
    "textarea",
    { rows: 8, class: "code", spellcheck: "false" },
    samples.body ?? skeleton((config.request?.body ?? []).map((item) => item.key)),
  );
  const answer = h("section", { class: "answer", "aria-live": "polite", "aria-label": "Answer" });
  const headersTitle = h("span", { class: "group-title", id: uid("group") }, "Headers");

  const form = h(
    "form",
    { class: "form test-request", novalidate: true, id: uid("test-request") },
    workflow.enabled
      ? null
      : h("div", { class: "notice" }, "This version is not enabled, so its webhook URL answers 404. Enable it to run it."),
    h("p", { class: "hint" }, "Sends a real request to ", h("code", {}, workflow.webhook_url), ": it runs the workflow like any caller would."),
    h("div", { class: "row" }, field("Method", method), field("Query string", query, { hint: "Without the leading ?" })),
    h("div", { class: "field", role: "group", "aria-labelledby": headersTitle.id }, headersTitle, headers.element, h("p", { class: "hint" }, "Rows without a name or a value are not sent.")),
    h("div", { class: "row" }, field("Username", username), field("Password", password)),
    h("p", { class: "hint" }, "Basic authentication: leave the username empty to send none."),
    field("JSON body", body, { hint: "Sent as typed with Content-Type: application/json (not for GET)." }),
    answer,
  );
  const send = h("button", { type: "submit", class: "primary", form: form.id }, "Send");
  openDrawer({ title: "Send a test request", content: form, actions: [send], wide: true });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    replace(answer, h("p", { class: "loading" }, "Sending…"));
    try {
      const sent = {
        method: method.value,
        headers: requestHeaders(headers.items(), username.value, password.value),
        body: ["GET", "HEAD"].includes(method.value) ? undefined : body.value,
      };
      const trimmed = query.value.trim().replace(/^\?/, "");
      const started = performance.now();
      const response = await fetch(trimmed ? `${workflow.webhook_url}?${trimmed}` : workflow.webhook_url, sent);
      const text = await response.text();
      showAnswer(answer, response, text, Math.round(performance.now() - started));
    } catch (error) {
      replace(
        answer,
        h("h3", {}, "No answer"),
        h("p", { class: "form-error", role: "alert" }, `The request failed before an answer came: ${error.message}`),
      );
    } finally {
      send.disabled = false;
      answer.scrollIntoView?.({ block: "nearest" });
    }
  });
}

/** The headers to send: the rows with a name and a value, JSON, and Basic credentials when a username is given. */
function requestHeaders(rows, username, password) {
  const headers = new Headers();
  for (const { name, value } of rows) {
    if (name.trim() && value !== "") headers.append(name.trim(), value);
  }
  headers.set("Content-Type", "application/json");
  if (username) headers.set("Authorization", `Basic ${base64(`${username}:${password}`)}`);
  return headers;
}

function base64(text) {
  // btoa only takes bytes as characters, so encode as UTF-8 first.
  return btoa(Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join(""));
}

/** Show the HTTP answer: status line, headers, body (pretty when JSON), and the execution link. */
function showAnswer(target, response, text, elapsed) {
  const execution = response.headers.get(EXECUTION_HEADER);
  const kind = response.ok ? "ok" : "bad";
  let shown = text;
  try {
    shown = text ? pretty(JSON.parse(text)) : "(empty)";
  } catch {
    // Not JSON: show the text as it came.
  }
  replace(
    target,
    h("h3", {}, "Answer"),
    h(
      "p",
      { class: `status-line ${kind}` },
      h("strong", {}, `${response.status} ${response.statusText}`.trim()),
      h("span", { class: "muted" }, ` in ${elapsed} ms`),
    ),
    execution
      ? h("p", {}, h("a", { href: `#/executions/${encodeURIComponent(execution)}` }, "Open the execution"), " ", h("code", { class: "muted" }, `#${execution}`))
      : null,
    h("h4", {}, "Response headers"),
    h(
      "dl",
      { class: "answer-headers" },
      [...response.headers].map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
    ),
    h("h4", {}, "Response body"),
    h("pre", { class: "answer-body", tabindex: "0", "aria-label": "Response body" }, shown),
  );
}

/** The query part of a sample URL (as the server reads it): after "?", nothing for a bare URL, else all. */
export function queryPart(sample) {
  const text = sample.trim().split("#")[0];
  if (text.includes("?")) return text.slice(text.indexOf("?") + 1);
  if (/^([A-Za-z][A-Za-z0-9+.-]*:\/\/|\/)/.test(text)) return "";
  return text;
}

/** A JSON body skeleton with an empty string at each path: order.id, order.status → {"order": {"id": "", "status": ""}}. */
export function skeleton(paths) {
  if (!paths.length) return "{}";
  let root;
  for (const path of paths) {
    const segments = splitPath(path);
    if (!segments.length) continue;
    root ??= typeof segments[0] === "number" ? [] : {};
    let node = root;
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (last) {
        if (node[segment] === undefined) node[segment] = "";
        return;
      }
      const container = typeof segments[i + 1] === "number" ? [] : {};
      // A path listed before its children ("order", then "order.id") left a placeholder; replace it.
      if (node[segment] === undefined || typeof node[segment] !== "object") node[segment] = container;
      node = node[segment];
    });
  }
  return pretty(root ?? {});
}

/** The segments of a path such as `a.b[0]["x.y"]`: names as strings, list indexes as numbers. */
function splitPath(path) {
  const segments = [];
  const pattern = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g;
  for (const found of path.matchAll(pattern)) {
    if (found[1] !== undefined) segments.push(Number(found[1]));
    else if (found[2] !== undefined) segments.push(found[2].replace(/\\(.)/g, "$1"));
    else segments.push(found[3]);
  }
  return segments;
}
