/** The calculation node's form: the engine and the expression, with variables inserted by the picker. */

import { field, h } from "../dom.js";
import { pickerField } from "./variable-picker.js";

const ENGINES = [
  ["math.js", "math.js (^ is the power, concat() joins texts)"],
  ["formula.js", "formula.js (JavaScript: ** is the power, + joins texts)"],
  ["string", "String template (variables filled into the text)"],
];

const EXAMPLES = {
  "math.js": "round({{$context.body.price}} * 1.2, 2)",
  "formula.js": 'IF({{$context.body.total}} > 100, "big", "small")',
  string: "Order {{$context.body.id}} from {{$context.body.name}}",
};

/** A new calculation: an empty math.js expression (NocoBase's default engine). */
export function defaultConfig() {
  return { engine: "math.js", expression: "" };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const current = config.engine ?? "math.js";
  const known = ENGINES.some(([name]) => name === current);
  const options = known ? ENGINES : [...ENGINES, [current, `${current} (not available)`]];
  const engine = h(
    "select",
    {},
    options.map(([name, label]) => h("option", { value: name, selected: name === current }, label)),
  );
  const expression = h(
    "textarea",
    { rows: 4, class: "code", spellcheck: "false", placeholder: EXAMPLES[current] ?? "" },
    config.expression ?? "",
  );
  engine.addEventListener("change", () => (expression.placeholder = EXAMPLES[engine.value] ?? ""));
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("Engine", engine, { where: "config.engine" }),
    pickerField("Expression", expression, {
      where: "config.expression",
      hint: "Numbers, texts in quotes, variables, operators and functions (ROUND, IF, CONCAT, DATEADD…: see docs/nodes.md). Checked when saved; the result is the value.",
      variables: ctx.variables,
      disabled: ctx.disabled,
    }),
  );
  return {
    element,
    read: () => ({ ...config, engine: engine.value, expression: expression.value }),
  };
}
