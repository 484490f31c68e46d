/** One condition's engine and its test: the basic calculation rows, or a math.js / formula.js expression. */

import { field, h } from "../dom.js";
import { calculationEditor, emptyCalculation } from "./calculation-editor.js";
import { pickerField } from "./variable-picker.js";

/** The engines a condition may use, with the names people read (docs/nodes.md#condition, as NocoBase's). */
export const CONDITION_ENGINES = [
  ["basic", "Basic (compare values)"],
  ["math.js", "math.js expression"],
  ["formula.js", "formula.js expression (JavaScript)"],
];

const EXAMPLES = {
  "math.js": '{{$context.body.total}} > 100 and {{$context.body.status}} == "paid"',
  "formula.js": '{{$context.body.total}} > 100 && {{$context.body.status}} === "paid"',
};

/** A new basic condition: one empty "equals" row. */
export function emptyCondition() {
  return { engine: "basic", calculation: emptyCalculation() };
}

/**
 * Edit a condition's `engine` with its `calculation` (basic) or `expression` (the others); `where`
 * is the condition's config path with its dot ("config." or "config.conditions[0].").
 * ctx: {disabled, variables}. Returns {element, engine, read() → {engine, calculation | expression},
 * renumber(where)}; only the chosen engine's part is shown and saved.
 */
export function conditionEditor(condition, ctx, { where = "config." } = {}) {
  const original = condition && typeof condition === "object" ? condition : {};
  const engine = engineSelect(original.engine);
  const engineField = field("Engine", engine);
  const calculation = calculationEditor(original.calculation, ctx, { where: `${where}calculation` });
  const basic = h("div", { class: "field" }, h("p", { class: "field-label" }, "Conditions"), calculation.element);
  const expression = h(
    "textarea",
    { rows: 3, class: "code", spellcheck: "false" },
    typeof original.expression === "string" ? original.expression : "",
  );
  const expressionField = pickerField("Expression", expression, {
    where: `${where}expression`,
    hint: "True when its value is truthy, as in JavaScript (0, \"\", null and false are not). Functions: see docs/nodes.md.",
    variables: ctx.variables,
    disabled: ctx.disabled,
  });
  const show = () => {
    basic.hidden = engine.value !== "basic";
    expressionField.hidden = engine.value === "basic";
    expression.placeholder = EXAMPLES[engine.value] ?? "";
  };
  engine.addEventListener("change", show);
  show();
  const renumber = (place) => {
    engineField.dataset.where = `${place}engine`;
    expressionField.dataset.where = `${place}expression`;
    calculation.renumber(`${place}calculation`);
  };
  renumber(where);
  return {
    element: h("div", { class: "condition-editor" }, engineField, basic, expressionField),
    engine,
    read: () =>
      engine.value === "basic"
        ? { engine: "basic", calculation: calculation.read() }
        : { engine: engine.value, expression: expression.value },
    renumber,
  };
}

/** A config without the fields a condition editor writes, so a switched engine leaves no stale part. */
export function withoutCondition({ engine: _engine, calculation: _calculation, expression: _expression, ...rest }) {
  return rest;
}

/** The engine select; an engine hookline lacks stays selected, so saving shows the server's message. */
function engineSelect(given) {
  const value = given ?? "basic";
  const options = CONDITION_ENGINES.map(([name, label]) => h("option", { value: name, selected: name === value }, label));
  if (!CONDITION_ENGINES.some(([name]) => name === value)) {
    options.push(h("option", { value, selected: true }, `${value} (not available)`));
  }
  return h("select", {}, options);
}
