/** The "Send a test request" drawer: call the workflow's real webhook URL from the browser and show the answer. */

import { api } from "../api.js";
import { field, h, pretty, replace, uid } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { headerRows } from "./header-rows.js";
import { readSamples } from "./samples.js";
import { PRESETS } from "./signature-fields.js";
import { testBody } from "./test-body.js";

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
  // The stored password is write-only (the API answers a placeholder), so it is typed here.
  const password = h("input", { type: "password", autocomplete: "new-password" });
  const body = testBody(samples, (config.request?.body ?? []).map((item) => item.key));
  const signing = signingChoice(config.signature);
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
    h("p", { class: "hint" }, "Basic authentication: leave the username empty to send none. A stored password is never shown: type it."),
    body.element,
    signing.element,
    answer,
  );
  const send = h("button", { type: "submit", class: "primary", form: form.id }, "Send");
  openDrawer({ title: "Send a test request", content: form, actions: [send], wide: true });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    replace(answer, h("p", { class: "loading" }, "Sending…"));
    try {
      const withBody = !["GET", "HEAD"].includes(method.value);
      const built = withBody ? await body.build() : { body: undefined, contentType: null, text: "" };
      const typedQuery = queryText(query.value);
      const signed = signing.on() ? await sign(workflow.id, built, typedQuery) : null;
      const sent = {
        method: method.value,
        headers: requestHeaders(headers.items(), { ...signed?.headers, ...contentType(built) }, username.value, password.value),
        body: built.body,
      };
      const started = performance.now();
      // A signed request goes to the URL the server signed, the query string in it.
      const response = await fetch(signed?.url ?? withQuery(workflow.webhook_url, typedQuery), sent);
      const text = await response.text();
      showAnswer(answer, response, text, Math.round(performance.now() - started), signed?.headers);
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

/** The "sign with the configured preset" checkbox, or a note when the preset cannot sign here. */
function signingChoice(setting) {
  const preset = setting?.preset;
  if (!preset) return { element: null, on: () => false };
  if (preset === "gitlab") {
    return {
      element: h("p", { class: "hint" }, "GitLab sends its secret token as it is: add an X-Gitlab-Token header with it above."),
      on: () => false,
    };
  }
  const box = h("input", { type: "checkbox", checked: true, id: uid("sign") });
  const label = `Sign with the configured preset (${PRESETS[preset]?.label ?? preset})`;
  return {
    element: h(
      "div",
      { class: "field check" },
      box,
      h("label", { for: box.id }, label),
      h(
        "p",
        { class: "hint" },
        "The server signs the body (and the query string, for presets that sign the URL) with the first secret, as the sender would; the headers it adds are shown with the answer.",
      ),
    ),
    on: () => box.checked,
  };
}

/** The headers that sign `built` (the body as text, and its Content-Type) sent with `query`, and the URL to send it to, made by the server. */
async function sign(workflowId, built, query) {
  if (built.text === null) throw new Error("this body is not UTF-8 text, so it cannot be signed here; send it unsigned or as text.");
  try {
    // {headers, url}: the URL holds the query string (Twilio and {url} sign it), and Twilio adds a
    // bodySHA256 parameter to it for a body that is not a form.
    return await api.post(`/workflows/${workflowId}/sign`, { body: built.text, contentType: built.contentType ?? "", query });
  } catch (error) {
    throw new Error(`the server could not sign it: ${error.message}`);
  }
}

/** The query string typed in the form, without its leading ? or surrounding spaces. */
function queryText(typed) {
  return typed.trim().replace(/^\?/, "");
}

/** `url` with a query string (without its leading ?) added. */
function withQuery(url, query) {
  if (!query) return url;
  return `${url}${url.includes("?") ? "&" : "?"}${query}`;
}

function contentType(built) {
  return built.contentType ? { "Content-Type": built.contentType } : {};
}

/** The headers to send: the rows with a name and a value, then `fixed` (type, signature), and Basic credentials when a username is given. */
function requestHeaders(rows, fixed, username, password) {
  const headers = new Headers();
  for (const { name, value } of rows) {
    if (name.trim() && value !== "") headers.append(name.trim(), value);
  }
  for (const [name, value] of Object.entries(fixed)) headers.set(name, value);
  if (username) headers.set("Authorization", `Basic ${base64(`${username}:${password}`)}`);
  return headers;
}

function base64(text) {
  // btoa only takes bytes as characters, so encode as UTF-8 first.
  return btoa(Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join(""));
}

/** Show the HTTP answer: status line, the signature headers sent, headers, body (pretty when JSON), and the execution link. */
function showAnswer(target, response, text, elapsed, signature) {
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
    signature ? [h("h4", {}, "Signature headers sent"), headerList(signature)] : null,
    h("h4", {}, "Response headers"),
    headerList([...response.headers]),
    h("h4", {}, "Response body"),
    h("pre", { class: "answer-body", tabindex: "0", "aria-label": "Response body" }, shown),
  );
}

/** Headers (an object or name/value pairs) as a definition list. */
function headerList(headers) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return h("dl", { class: "answer-headers" }, pairs.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

/** The query part of a sample URL (as the server reads it): after "?", nothing for a bare URL, else all. */
export function queryPart(sample) {
  const text = sample.trim().split("#")[0];
  if (text.includes("?")) return text.slice(text.indexOf("?") + 1);
  if (/^([A-Za-z][A-Za-z0-9+.-]*:\/\/|\/)/.test(text)) return "";
  return text;
}
