/** The JSON query node's form: the engine, the source (a variable), the expression, and the result's fields. */

import { field, h } from "../dom.js";
import { pairRows } from "./pair-rows.js";
import { pickerField } from "./variable-picker.js";

const ENGINES = [
  ["jmespath", "JMESPath"],
  ["jsonata", "JSONata"],
];

/** A new JSON query: JMESPath over the request body. */
export function defaultConfig() {
  return { engine: "jmespath", source: "{{$context.body}}", expression: "" };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const current = config.engine ?? "jmespath";
  const options = ENGINES.some(([name]) => name === current) ? ENGINES : [...ENGINES, [current, `${current} (unknown)`]];
  const engine = h(
    "select",
    {},
    options.map(([name, label]) => h("option", { value: name, selected: name === current }, label)),
  );
  // A source that is not text (JSON saved through the API) shows as JSON and is saved back the same way.
  const textSource = typeof config.source === "string" || config.source === undefined;
  const source = h("input", {
    type: "text",
    value: textSource ? config.source ?? "" : JSON.stringify(config.source),
    placeholder: "{{$context.body}}",
    spellcheck: "false",
  });
  const expression = h(
    "textarea",
    { rows: 4, class: "code", spellcheck: "false", placeholder: "items[?price > `10`].name" },
    config.expression ?? "",
  );
  const model = modelRows(Array.isArray(config.model) ? config.model : [], ctx);
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("Engine", engine, { where: "config.engine" }),
    pickerField("Source", source, {
      where: "config.source",
      hint: "The value to query, usually one variable such as {{$context.body}}.",
      variables: ctx.variables,
      disabled: ctx.disabled,
    }),
    field("Expression", expression, {
      where: "config.expression",
      hint: "A query in the engine's language; checked when saved. Variables are not filled in here: query the source.",
    }),
    model.element,
  );
  return {
    element,
    read() {
      const { model: _m, ...rest } = config;
      const read = { ...rest, engine: engine.value, expression: expression.value };
      read.source = textSource ? source.value : parsedOr(source.value);
      const fields = model.read();
      if (fields.length) read.model = fields;
      return read;
    },
  };
}

function parsedOr(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The result's fields (path, alias), with Add and Remove buttons. */
function modelRows(given, ctx) {
  return pairRows({
    given,
    ctx,
    row: modelRow,
    blank: { path: "", alias: "" },
    where: "config.model",
    legend: "Result fields",
    addLabel: "Add field",
    hint: "Optional: map the result (or each item of a list result) to these fields.",
  });
}

function modelRow(entry, ctx, remove) {
  const original = entry && typeof entry === "object" ? entry : {};
  const path = h("input", { type: "text", value: original.path ?? "", placeholder: "customer.name", spellcheck: "false" });
  const alias = h("input", { type: "text", value: original.alias ?? "", placeholder: "Name (optional)", spellcheck: "false" });
  const pathCell = h("div", { class: "pair-name" }, path);
  const aliasCell = h("div", { class: "pair-value" }, alias);
  const removeButton = h("button", { type: "button", class: "icon danger-icon" }, "×");
  removeButton.addEventListener("click", remove);
  const element = h("div", { class: "pair", role: "group" }, pathCell, aliasCell, ctx.disabled ? null : removeButton);
  return {
    element,
    first: path,
    read() {
      const read = { ...original, path: path.value.trim() };
      if (alias.value.trim()) read.alias = alias.value.trim();
      else delete read.alias;
      return read;
    },
    renumber(i) {
      const where = `config.model[${i}]`;
      element.dataset.where = where;
      pathCell.dataset.where = `${where}.path`;
      aliasCell.dataset.where = `${where}.alias`;
      element.setAttribute("aria-label", `Field ${i + 1}`);
      path.setAttribute("aria-label", `Field ${i + 1} path`);
      alias.setAttribute("aria-label", `Field ${i + 1} name`);
      removeButton.setAttribute("aria-label", `Remove field ${i + 1}`);
    },
  };
}
