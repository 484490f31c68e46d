/** The webhook trigger's drawer: its URL, security, the request paths it parses, its body formats, and its answer. */

import { api } from "../api.js";
import { append, copyText, field, h, pretty, uid } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { onSubmit } from "../submit.js";
import { bodySection } from "./body-section.js";
import { headerRows } from "./header-rows.js";
import { listener } from "./listen.js";
import { pathTable } from "./path-table.js";
import { sampleParser } from "./sample-parser.js";
import { readRenames, readSamples, rememberRenames } from "./samples.js";
import { securitySection } from "./security-section.js";
import { frozenNote } from "./workflow-settings.js";
import { pickerField } from "../forms/variable-picker.js";
import { variablesAt } from "../forms/variables.js";

const STATUS_PROBLEM = "must be an integer between 200 and 599";

/** Open the trigger's drawer; read-only (with a note to create a new version) when !editable. */
export function openTriggerDrawer(workflow, { editable, onNewVersion, onSaved } = {}) {
  const config = workflow.config ?? {};
  const request = config.request ?? {};
  const samples = readSamples(workflow.key);
  const renames = readRenames(workflow.key);
  const form = h("form", { class: "form trigger-form", novalidate: true, id: uid("trigger-form") });

  const security = securitySection(config, { editable });
  const formats = bodySection(request, { editable });
  const parseTitle = h("h3", { id: uid("parse") }, "Parse request data");
  const headers = pathTable(request.headers ?? [], { part: "headers", editable, label: "Header name", where: "config.request.headers", secret: true });
  const query = pathTable(request.query ?? [], { part: "query", editable, label: "Query path", where: "config.request.query", renamed: renames.query });
  const body = pathTable(request.body ?? [], { part: "body", editable, label: "Body path", where: "config.request.body", renamed: renames.body });
  // The response may use the request items as they stand in the tables now, saved or not.
  const liveVariables = () =>
    variablesAt({ config: { request: { headers: headers.items(), query: query.items(), body: body.items() } } });
  const listen = listener(workflow.id, { headers, query, body }, { editable });
  const answer = workflow.sync ? null : responseSection(config.response, editable, liveVariables);

  append(form, [
    editable ? null : frozenNote(onNewVersion),
    addressSection(workflow),
    security.element,
    h(
      "section",
      { class: "parse", "aria-labelledby": parseTitle.id },
      parseTitle,
      h(
        "p",
        { class: "hint" },
        "List what later nodes use; each row becomes a variable, shown by its alias. ",
        "Parse adds the paths of a sample that are new; rows you have keep their alias. Edit a path in its box; delete the rows you do not need.",
      ),
      listen.element,
      part("Headers", "Header names are matched in any case. A secret header's value is stored as [redacted] in executions.", headers.element),
      part("Query", null, sampleParser(workflow.key, "query", samples.query, query, editable), query.element),
      part("Body", "Paths into the body, in whichever format it came (see Body formats).", sampleParser(workflow.key, "body", samples.body, body, editable), body.element),
    ),
    formats.element,
    answer?.element ??
      h(
        "section",
        {},
        h("h3", {}, "Response"),
        h("p", { class: "hint" }, "A synchronous workflow answers with its Response node, or with 200 and the execution's status."),
      ),
  ]);

  const save = h("button", { type: "submit", class: "primary", form: form.id }, "Save");
  const drawer = openDrawer({
    title: "Webhook trigger",
    content: form,
    actions: editable ? [save] : [],
    wide: true,
    onClose: listen.cancel,
  });

  if (editable) {
    onSubmit(form, save, async () => {
      const typed = [...headers.problems(), ...query.problems(), ...body.problems(), ...formats.problems()];
      if (typed.length) throw { details: typed };
      const next = {
        ...config,
        ...security.value(),
        request: { ...request, headers: headers.items(), query: query.items(), body: body.items(), ...formats.value() },
      };
      if (answer) {
        const response = answer.value();
        if (!Number.isInteger(response.statusCode)) {
          throw { details: [{ where: "config.response.statusCode", message: STATUS_PROBLEM }] };
        }
        next.response = { ...(config.response ?? {}), ...response };
      }
      try {
        await api.patch(`/workflows/${workflow.id}`, { config: next });
      } catch (error) {
        if (error.details?.length) error.details = security.explain(error.details);
        throw error;
      }
      rememberRenames(workflow.key, { query: query.renamed(), body: body.renamed() });
      notify("Saved the trigger.");
      drawer.close();
      onSaved?.();
    });
  }
  return drawer;
}

/** The webhook URL with its copy button, and the method. */
function addressSection(workflow) {
  const url = h("input", { type: "text", value: workflow.webhook_url, readonly: true, class: "code", spellcheck: "false" });
  url.id = uid("webhook-url");
  url.addEventListener("focus", () => url.select());
  const copy = h(
    "button",
    {
      type: "button",
      onclick: async () =>
        notify((await copyText(workflow.webhook_url)) ? "Copied the webhook URL." : "Could not copy; select the URL and copy it."),
    },
    "Copy URL",
  );
  const hint = h("p", { class: "hint", id: uid("hint") }, "Only POST triggers it; other methods get 405.");
  url.setAttribute("aria-describedby", hint.id);
  return h(
    "section",
    { class: "address" },
    h(
      "div",
      { class: "field" },
      h("label", { for: url.id }, "Webhook URL"),
      h("div", { class: "row url-row" }, h("span", { class: "method", title: "The method that triggers it" }, "POST"), url, copy),
      hint,
    ),
  );
}

/** One part of the request (Headers, Query, Body) as a labelled region. */
function part(title, hint, ...content) {
  const heading = h("h4", { id: uid("part") }, title);
  return h("section", { class: "request-part", "aria-labelledby": heading.id }, heading, hint ? h("p", { class: "hint" }, hint) : null, content);
}

/** The answer an asynchronous workflow gives at once: status code, headers and body. */
function responseSection(setting, editable, variables) {
  const statusCode = h("input", { type: "number", min: 200, max: 599, step: 1, value: String(setting?.statusCode ?? 200), disabled: !editable, class: "status-code" });
  const headers = headerRows(setting?.headers ?? [], {
    editable,
    noun: "response header",
    where: "config.response.headers",
    placeholder: "Value, e.g. {{$context.body.order.id}}",
    variables,
  });
  const shown = setting && "body" in setting ? setting.body : "ok";
  const body = h("textarea", { rows: 5, class: "code", spellcheck: "false", disabled: !editable }, typeof shown === "string" ? shown : pretty(shown));
  const groupTitle = h("span", { class: "group-title", id: uid("group") }, "Response headers");
  return {
    element: h(
      "section",
      { class: "response" },
      h("h3", {}, "Response"),
      h("p", { class: "hint" }, "What the caller gets as soon as the execution is recorded; the workflow then runs in the background."),
      field("Status code", statusCode, { where: "config.response.statusCode" }),
      h("div", { class: "field", role: "group", "aria-labelledby": groupTitle.id }, groupTitle, headers.element),
      pickerField("Response body", body, {
        where: "config.response.body",
        hint: "JSON is sent as JSON, anything else as text. Values may use variables such as {{$context.body.order.id}}.",
        variables,
        json: () => /^\s*[[{]/.test(body.value), // quote a variable only where the body is JSON
        disabled: !editable,
      }),
    ),
    value: () => ({
      statusCode: statusCode.value.trim() === "" ? NaN : Number(statusCode.value),
      headers: headers.items(),
      body: jsonOrText(body.value),
    }),
  };
}

function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
