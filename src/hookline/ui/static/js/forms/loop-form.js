/** The loop node's form: what to loop over, an optional condition checked at each item, and what a failed item does. */

import { field, h, switchedFields } from "../dom.js";
import { choiceSelect } from "./choices.js";
import { conditionEditor, emptyCondition } from "./condition-editor.js";
import { pickerField } from "./variable-picker.js";

const CHECKPOINTS = [
  ["before", "Before each item"],
  ["after", "After each item (the first item always runs)"],
];
const ON_FALSE = [
  ["stop", "Stop the loop"],
  ["skip", "Skip this item and go on"],
];
const EXITS = [
  ["fail", "Fail the loop (and the execution)"],
  ["break", "Stop the loop and go on after it"],
  ["continue", "Go on with the next item"],
];
// NocoBase writes these choices as numbers; the server reads both, the form shows and saves the names.
const NOCOBASE_EXITS = { 0: "fail", 1: "break", 2: "continue" };
const NOCOBASE_CHECKPOINTS = { 0: "before", 1: "after" };

/** A new loop: no target yet (the server requires one), no condition, a failed item fails the loop. */
export function defaultConfig() {
  return {};
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const target = h("input", { type: "text", value: shownTarget(config.target), placeholder: "{{$context.body.items}} or 3", spellcheck: "false" });
  const given = config.condition && typeof config.condition === "object" ? config.condition : null;
  const checkpoint = choiceSelect(CHECKPOINTS, NOCOBASE_CHECKPOINTS[given?.checkpoint] ?? given?.checkpoint ?? "before");
  const onFalse = choiceSelect(ON_FALSE, given?.continueOnFalse ? "skip" : "stop");
  const condition = conditionEditor(given ?? emptyCondition(), ctx, { where: "config.condition." });
  const conditionFields = h(
    "div",
    { class: "switched" },
    field("Check", checkpoint, { where: "config.condition.checkpoint" }),
    field("When false", onFalse, { where: "config.condition.continueOnFalse" }),
    condition.element,
  );
  const conditional = switchedFields("Check a condition at each item", given !== null, {
    fields: conditionFields,
    where: "config.condition",
    editable: !ctx.disabled,
    focus: checkpoint,
    hint: "Items run while it is true. Each item's values are $scopes.<this node's key>.item, .index, .sequence and .length.",
  });
  const exit = choiceSelect(EXITS, NOCOBASE_EXITS[config.exit] ?? config.exit ?? "fail");
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    pickerField("Loop over", target, {
      where: "config.target",
      hint: "A list (each item that is not null), a number n (items 0 to n−1), or a variable holding either; the Each item branch runs once per item.",
      variables: ctx.variables,
      disabled: ctx.disabled,
    }),
    conditional.element,
    field("When an item's branch fails", exit, { where: "config.exit" }),
  );
  return {
    element,
    read() {
      const { target: _t, condition: _c, exit: _e, ...rest } = config;
      const read = { ...rest };
      const text = target.value.trim();
      if (text !== "") read.target = parsedTarget(text);
      if (conditional.input.checked) {
        read.condition = { checkpoint: checkpoint.value, continueOnFalse: onFalse.value === "skip", ...condition.read() };
      }
      read.exit = exit.value;
      return read;
    },
  };
}

/** The target as the text field shows it: a variable or a number as written, a list as JSON. */
function shownTarget(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Typed text as a target: a number, a JSON list, or else the text (a variable, rendered when the node runs). */
function parsedTarget(text) {
  if (/^\d+$/.test(text)) return Number(text);
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
