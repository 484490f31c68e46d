/** The request node's form: method and URL, query parameters, headers, the body, and how failures are handled. */

import { field, h, toggle, uid } from "../dom.js";
import { choiceSelect, numberInput, numberValue, setOrDrop } from "./choices.js";
import { jsonField, parseJson } from "./json-form.js";
import { nameValueRows } from "./name-value-rows.js";
import { retryFields } from "./retry-fields.js";
import { pickerField } from "./variable-picker.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m) => [m, m]);
// The server's names for each body kind; NocoBase's MIME spellings are shown as the same kind.
const BODY_KINDS = [
  ["json", "JSON"],
  ["form", "Form (application/x-www-form-urlencoded)"],
  ["multipart", "Multipart form (multipart/form-data)"],
  ["xml", "XML"],
  ["text", "Text"],
];
const MIME_KINDS = {
  "application/json": "json",
  "application/x-www-form-urlencoded": "form",
  "multipart/form-data": "multipart",
  "application/xml": "xml",
  "text/xml": "xml",
  "text/plain": "text",
};
const DEFAULT_IDEMPOTENCY_HEADER = "Idempotency-Key";
const OWN = ["url", "method", "contentType", "params", "headers", "data", "timeout", "ignoreFail", "onlyData", "retry", "idempotencyKey", "maxResponseBytes"];

/** A new request: a POST of a JSON body, the server's defaults for the rest. */
export function defaultConfig() {
  return { method: "POST", url: "", contentType: "json" };
}

/** The form; read() gives the config, keeping fields it does not show (it throws a FormProblem for a body that is not JSON). */
export function form(config, ctx) {
  const method = choiceSelect(METHODS, String(config.method ?? "POST").toUpperCase());
  const url = h("input", { type: "text", value: config.url ?? "", placeholder: "https://api.example.com/orders/{{$context.body.id}}", spellcheck: "false" });
  const params = nameValueRows({ given: config.params, ctx, where: "config.params", legend: "Query parameters", noun: "Parameter", addLabel: "Add parameter", namePlaceholder: "page" });
  const headers = nameValueRows({ given: config.headers, ctx, where: "config.headers", legend: "Headers", noun: "Header", addLabel: "Add header", namePlaceholder: "Authorization" });
  const body = bodyEditor(config, ctx);
  const failures = failureFields(config, ctx);
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    h("div", { class: "field-row" }, field("Method", method, { where: "config.method" }),
      pickerField("URL", url, { where: "config.url", hint: "http:// or https://; {{ variables }} may build any part of it.", variables: ctx.variables, disabled: ctx.disabled })),
    params.element,
    headers.element,
    body.element,
    failures.element,
  );
  return {
    element,
    read() {
      const read = Object.fromEntries(Object.entries(config).filter(([key]) => !OWN.includes(key)));
      Object.assign(read, { url: url.value.trim(), method: method.value, contentType: body.kind.value });
      const paramRows = params.read();
      const headerRows = headers.read();
      if (paramRows.length) read.params = paramRows;
      if (headerRows.length) read.headers = headerRows;
      setOrDrop(read, "data", body.read());
      return Object.assign(read, failures.read());
    },
  };
}

/** The body's kind and its editor: JSON text, name/value rows for forms, plain text for XML and text. */
function bodyEditor(config, ctx) {
  const given = MIME_KINDS[String(config.contentType ?? "").toLowerCase()] ?? config.contentType ?? "json";
  const kind = choiceSelect(BODY_KINDS, given);
  const data = config.data;
  const json = jsonField("Body (JSON)", given === "json" ? data : undefined, ctx, {
    where: "config.data",
    hint: 'Any JSON; strings may hold {{ variables }}, and a string that is one variable keeps its type. Empty: no body.',
    rows: 6,
  });
  const rows = nameValueRows({
    given: ["form", "multipart"].includes(given) ? formEntries(data) : [],
    ctx,
    where: "config.data",
    legend: "Form fields",
    noun: "Form field",
    addLabel: "Add form field",
    namePlaceholder: "name",
  });
  const text = h("textarea", { rows: 6, class: "code", spellcheck: "false" }, typeof data === "string" && ["xml", "text"].includes(given) ? data : "");
  const textField = pickerField("Body (text)", text, { where: "config.data", hint: "Sent as written, with {{ variables }} filled in. Empty: no body.", variables: ctx.variables, disabled: ctx.disabled });
  const parts = { json: json.element, form: rows.element, multipart: rows.element, xml: textField, text: textField };
  const show = () => {
    // Only the shown editor names config.data, so the server's problem with the body lands under it.
    for (const part of new Set(Object.values(parts))) {
      part.hidden = part !== parts[kind.value];
      if (part.hidden) part.removeAttribute("data-where");
      else part.dataset.where = "config.data";
    }
    text.placeholder = kind.value === "xml" ? "<order><id>{{$context.body.id}}</order>" : "Order {{$context.body.id}} is paid";
  };
  kind.addEventListener("change", show);
  show();
  const element = h("fieldset", { class: "field group" }, h("legend", {}, "Body"), field("Content type", kind, { where: "config.contentType" }), json.element, rows.element, textField);
  return {
    element,
    kind,
    read() {
      if (["form", "multipart"].includes(kind.value)) {
        const entries = rows.read();
        return entries.length ? entries : undefined;
      }
      if (kind.value === "json") return json.area.value.trim() === "" ? undefined : parseJson(json.area.value, "config.data");
      return text.value === "" ? undefined : text.value;
    },
  };
}

/** A form body as rows: a list of {name, value} as it is, an object {name: value} as one row per name. */
function formEntries(data) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === "object") return Object.entries(data).map(([name, value]) => ({ name, value }));
  return [];
}

/** Timeout, what a failure does, retries, the idempotency header and the response size limit. */
function failureFields(config, ctx) {
  const timeout = numberInput(config.timeout, { min: 1, max: 600000, placeholder: "5000" });
  const onlyData = toggle("Result is the response body only", config.onlyData === true, { where: "config.onlyData" });
  const ignoreFail = toggle("Go on when the request fails", config.ignoreFail === true, { where: "config.ignoreFail" });
  const ignoreHint = uid("hint");
  ignoreFail.input.setAttribute("aria-describedby", ignoreHint);
  const retry = retryFields(config.retry, ctx);
  const key = config.idempotencyKey;
  const idempotency = h("input", { type: "text", spellcheck: "false", value: key === undefined || key === true ? DEFAULT_IDEMPOTENCY_HEADER : key || "" });
  const maxBytes = numberInput(config.maxResponseBytes, { min: 1, max: 104857600, placeholder: "10485760" });
  const element = h(
    "div",
    {},
    field("Timeout (ms)", timeout, { where: "config.timeout", hint: "For the whole call; 5000 when empty. A synchronous workflow's own timeout cuts it short." }),
    onlyData.element,
    ignoreFail.element,
    h("p", { class: "hint switch-hint", id: ignoreHint }, "On: a failure resolves the job with the error as its result, and the workflow goes on. Off: it fails the execution."),
    retry.element,
    field("Idempotency header", idempotency, {
      where: "config.idempotencyKey",
      hint: "Every attempt sends <execution id>-<node key> in this header, so the receiver can drop a repeat. Empty: none sent.",
    }),
    field("Largest response (bytes)", maxBytes, { where: "config.maxResponseBytes", hint: "10485760 (10 MiB) when empty; at most 100 MiB." }),
  );
  return {
    element,
    read() {
      const read = {};
      setOrDrop(read, "timeout", numberValue(timeout));
      if (onlyData.input.checked) read.onlyData = true;
      if (ignoreFail.input.checked) read.ignoreFail = true;
      setOrDrop(read, "retry", retry.read());
      const header = idempotency.value.trim();
      // The default header is the server's default too: a config that never named one keeps not naming it.
      if (!header) read.idempotencyKey = false;
      else if (header !== DEFAULT_IDEMPOTENCY_HEADER || "idempotencyKey" in config) read.idempotencyKey = header;
      setOrDrop(read, "maxResponseBytes", numberValue(maxBytes));
      return read;
    },
  };
}
