/** The condition node's form: "Reject on false", the engine, and the calculation tree. */

import { field, h, toggle, uid } from "../dom.js";
import { calculationEditor, emptyCalculation } from "./calculation-editor.js";

export { calculationEditor } from "./calculation-editor.js";

/** A new condition: one empty "equals" row, both branches kept. */
export function defaultConfig() {
  return { rejectOnFalse: false, engine: "basic", calculation: emptyCalculation() };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const reject = toggle("Reject on false", config.rejectOnFalse === true, { where: "config.rejectOnFalse" });
  const hintId = uid("hint");
  reject.input.setAttribute("aria-describedby", hintId);
  const engine = engineSelect(config.engine);
  const calculation = calculationEditor(config.calculation, ctx, { where: "config.calculation" });
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    reject.element,
    h("p", { class: "hint switch-hint", id: hintId }, "On: a false result fails the execution. Off: it runs the No branch."),
    field("Engine", engine, { where: "config.engine" }),
    h("div", { class: "field" }, h("p", { class: "field-label" }, "Conditions"), calculation.element),
  );
  return {
    element,
    read: () => ({
      ...config,
      rejectOnFalse: reject.input.checked,
      engine: engine.value,
      calculation: calculation.read(),
    }),
  };
}

/** The engine select: "basic" (and a loaded engine hookline lacks, so the server can say so). */
export function engineSelect(given) {
  const value = given ?? "basic";
  const options = [h("option", { value: "basic", selected: value === "basic" }, "Basic (compare values)")];
  if (value !== "basic") options.push(h("option", { value, selected: true }, `${value} (not available)`));
  return h("select", {}, options);
}
