/** The condition node's form: "Reject on false", the engine, and the calculation tree or the expression. */

import { h, toggle, uid } from "../dom.js";
import { conditionEditor, emptyCondition, withoutCondition } from "./condition-editor.js";

/** A new condition: basic, one empty "equals" row, both branches kept. */
export function defaultConfig() {
  return { rejectOnFalse: false, ...emptyCondition() };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const reject = toggle("Reject on false", config.rejectOnFalse === true, { where: "config.rejectOnFalse" });
  const hintId = uid("hint");
  reject.input.setAttribute("aria-describedby", hintId);
  const condition = conditionEditor(config, ctx, { where: "config." });
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    reject.element,
    h("p", { class: "hint switch-hint", id: hintId }, "On: a false result fails the execution. Off: it runs the No branch."),
    condition.element,
  );
  return {
    element,
    read: () => ({ ...withoutCondition(config), rejectOnFalse: reject.input.checked, ...condition.read() }),
  };
}
