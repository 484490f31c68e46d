/** The Response node's form: status code, header rows, a JSON body, and whether the workflow goes on after answering. */

import { field, h, toggle, uid } from "../dom.js";
import { FormProblem, jsonField, parseJson } from "./json-form.js";
import { pairRows } from "./pair-rows.js";
import { withPicker } from "./variable-picker.js";

/** A new Response: 200 with an empty JSON object. */
export function defaultConfig() {
  return { statusCode: 200, body: {} };
}

/** The form; read() gives the config (it throws a FormProblem when the body is not JSON). */
export function form(config, ctx) {
  const status = h("input", { type: "number", min: 200, max: 599, step: 1, value: config.statusCode ?? "", class: "short" });
  const headers = headerRows(Array.isArray(config.headers) ? config.headers : [], ctx);
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

/** Header rows (name, value with a variable picker), with Add and Remove buttons. */
function headerRows(given, ctx) {
  return pairRows({
    given,
    ctx,
    row: headerRow,
    blank: { name: "", value: "" },
    where: "config.headers",
    legend: "Headers",
    addLabel: "Add header",
  });
}

function headerRow(entry, ctx, remove) {
  const original = entry && typeof entry === "object" ? entry : {};
  const name = h("input", { type: "text", value: original.name ?? "", placeholder: "X-Order", spellcheck: "false" });
  const value = h("input", { type: "text", value: original.value ?? "", placeholder: "Text or {{ variable }}", spellcheck: "false" });
  const nameCell = h("div", { class: "pair-name" }, name);
  const valueBox = ctx.disabled ? value : withPicker(value, { label: "Header value", variables: ctx.variables });
  const valueCell = h("div", { class: "pair-value" }, valueBox);
  const removeButton = h("button", { type: "button", class: "icon danger-icon" }, "×");
  removeButton.addEventListener("click", remove);
  const element = h("div", { class: "pair", role: "group" }, nameCell, valueCell, ctx.disabled ? null : removeButton);
  return {
    element,
    first: name,
    read: () => ({ ...original, name: name.value.trim(), value: value.value }),
    renumber(i) {
      const where = `config.headers[${i}]`;
      element.dataset.where = where;
      nameCell.dataset.where = `${where}.name`;
      valueCell.dataset.where = `${where}.value`;
      element.setAttribute("aria-label", `Header ${i + 1}`);
      name.setAttribute("aria-label", `Header ${i + 1} name`);
      value.setAttribute("aria-label", `Header ${i + 1} value`);
      removeButton.setAttribute("aria-label", `Remove header ${i + 1}`);
      valueBox.relabel?.(`Header ${i + 1} value`);
    },
  };
}
