/** The Response node's form: status code, header rows, a JSON body, and whether the workflow goes on after answering. */

import { field, h, toggle, uid } from "../dom.js";
import { FormProblem, jsonField, parseJson } from "./json-form.js";
import { nameValueRows } from "./name-value-rows.js";

/** A new Response: 200 with an empty JSON object. */
export function defaultConfig() {
  return { statusCode: 200, body: {} };
}

/** The form; read() gives the config (it throws a FormProblem when the body is not JSON). */
export function form(config, ctx) {
  const status = h("input", { type: "number", min: 200, max: 599, step: 1, value: config.statusCode ?? "", class: "short" });
  // A header value is a string (the server refuses others); one that is not shows as it always has.
  const headers = nameValueRows({
    given: config.headers,
    ctx,
    where: "config.headers",
    legend: "Headers",
    noun: "Header",
    addLabel: "Add header",
    namePlaceholder: "X-Order",
    jsonValues: false,
  });
  const body = jsonField("Body (JSON)", config.body, ctx, {
    where: "config.body",
    hint: 'Any JSON: an object, a list, or "text" in quotes. Empty: no body. Strings may hold {{ variables }}.',
    rows: 8,
  });
  const goOn = continueSwitch(config);
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("Status code", status, { where: "config.statusCode", hint: "200 to 599." }),
    headers.element,
    body.element,
    goOn.element,
  );
  return {
    element,
    read() {
      const { statusCode: _s, headers: _h, body: _b, continue: _c, ...rest } = config;
      const read = { ...rest };
      if (status.value !== "") read.statusCode = Number(status.value);
      const rows = headers.read();
      if (rows.length) read.headers = rows;
      if (body.area.value.trim() !== "") read.body = parseJson(body.area.value, "config.body");
      // Off is the server's default: a config that never said `continue` keeps not saying it.
      if (goOn.input.checked || "continue" in config) read.continue = goOn.input.checked;
      if (!goOn.input.checked && ctx.node?.downstream_id) {
        throw new FormProblem("config.continue", "must stay on while steps follow this response: delete them first");
      }
      return read;
    },
  };
}

/** The `continue` switch with its hint: on, the caller is answered and the nodes below run in the background. */
function continueSwitch(config) {
  const { element, input } = toggle("Answer now and continue in the background", config.continue === true, { where: "config.continue" });
  const hint = h(
    "p",
    { class: "hint switch-hint", id: uid("hint") },
    "On: the caller gets this answer at once, and the nodes below this one run afterwards, as an asynchronous workflow would. Off: the answer ends the execution, and nothing may follow this node.",
  );
  input.setAttribute("aria-describedby", hint.id);
  return { element: h("div", {}, element, hint), input };
}
