/** The basic engine's calculation tree as rows of "value, operator, value", in and/or groups that nest. */

import { h } from "../dom.js";
import { withPicker } from "./variable-picker.js";

/** The calculators in the order people pick them, with the names they read (docs/nodes.md#condition). */
export const CALCULATORS = [
  ["equal", "equals"],
  ["notEqual", "does not equal"],
  ["gt", "greater than (>)"],
  ["gte", "greater than or equal (≥)"],
  ["lt", "less than (<)"],
  ["lte", "less than or equal (≤)"],
  ["includes", "includes"],
  ["notIncludes", "does not include"],
  ["startsWith", "starts with"],
  ["notStartsWith", "does not start with"],
  ["endsWith", "ends with"],
  ["notEndsWith", "does not end with"],
];

/** The symbol aliases the engine accepts, shown as the calculator they stand for. */
const ALIASES = { "==": "equal", "!=": "notEqual", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte" };

/** An empty calculation: a group that matches all of no rows. */
export function emptyCalculation(withRow = true) {
  return { group: { type: "and", calculations: withRow ? [newItem()] : [] } };
}

function newItem() {
  return { calculator: "equal", operands: ["", ""] };
}

/**
 * Edit a calculation; `where` is its config path (e.g. "config.calculation"), for the API's problems.
 * ctx: {disabled, variables}. Returns {element, read() → calculation, renumber(where)}; a single item
 * is shown (and saved) inside a group.
 */
export function calculationEditor(calculation, ctx, { where = "config.calculation" } = {}) {
  const start = calculation && typeof calculation === "object" ? calculation : emptyCalculation(false);
  const root = groupEditor("group" in start ? start.group : { type: "and", calculations: [start] }, ctx, null);
  const element = h("div", { class: "calculation" }, root.element);
  let at = where;
  const renumber = (place = at) => {
    at = place;
    element.dataset.where = at;
    root.renumber(at, "");
  };
  root.onChange = () => renumber();
  renumber();
  return { element, read: () => ({ group: root.read() }), renumber };
}

/** One and/or group; `parent` is the group holding it (null for the top one). */
function groupEditor(group, ctx, parent) {
  const original = group && typeof group === "object" ? group : {};
  const children = [];
  const type = h(
    "select",
    { "aria-label": "Match", class: "group-type" },
    h("option", { value: "and", selected: original.type !== "or" }, "Match all (and)"),
    h("option", { value: "or", selected: original.type === "or" }, "Match any (or)"),
  );
  const typeCell = h("div", { class: "group-type-cell" }, type);
  const list = h("div", { class: "calc-list" });
  const addRow = h("button", { type: "button", class: "add-row" }, "Add condition");
  const addGroup = h("button", { type: "button", class: "add-row" }, "Add group");
  const remove = parent ? h("button", { type: "button", class: "icon danger-icon" }, "×") : null;
  const element = h(
    "fieldset",
    { class: parent ? "calc-group nested" : "calc-group" },
    h("div", { class: "group-head" }, typeCell, ctx.disabled ? null : remove),
    list,
    ctx.disabled ? null : h("div", { class: "group-actions" }, addRow, addGroup),
  );
  const editor = { element, children, onChange: null };
  // Structure changes renumber the whole tree, from the top group.
  const changed = () => (parent ? parent.changed() : editor.onChange?.());
  editor.changed = changed;
  const add = (child, focus) => {
    children.push(child);
    list.append(child.element);
    if (focus) {
      changed();
      child.element.querySelector("input, select")?.focus();
    }
  };
  editor.removeChild = (child) => {
    children.splice(children.indexOf(child), 1);
    child.element.remove();
    changed();
    addRow.focus();
  };
  for (const item of Array.isArray(original.calculations) ? original.calculations : []) {
    add(item && typeof item === "object" && "group" in item ? nested(item, ctx, editor) : rowEditor(item, ctx, editor));
  }
  addRow.addEventListener("click", () => add(rowEditor(newItem(), ctx, editor), true));
  addGroup.addEventListener("click", () => add(nested(emptyCalculation(), ctx, editor), true));
  remove?.addEventListener("click", () => parent.removeChild(editor));
  editor.read = () => ({
    ...original,
    type: type.value,
    calculations: children.map((child) => child.read()),
  });
  editor.renumber = (where, path) => {
    element.dataset.where = `${where}.group`;
    typeCell.dataset.where = `${where}.group.type`;
    list.dataset.where = `${where}.group.calculations`;
    element.setAttribute("aria-label", path ? `Group ${path}` : "Conditions");
    type.setAttribute("aria-label", path ? `Match, group ${path}` : "Match");
    if (path) {
      addRow.setAttribute("aria-label", `Add condition to group ${path}`);
      addGroup.setAttribute("aria-label", `Add group to group ${path}`);
      remove?.setAttribute("aria-label", `Remove group ${path}`);
    }
    children.forEach((child, i) =>
      child.renumber(`${where}.group.calculations[${i}]`, path ? `${path}.${i + 1}` : String(i + 1)),
    );
  };
  return editor;
}

/** A group inside a group, from its `{"group": ...}` wrapper (other wrapper fields are kept). */
function nested(wrapper, ctx, parent) {
  const { group, ...rest } = wrapper;
  const inner = groupEditor(group, ctx, parent);
  const read = inner.read;
  inner.read = () => ({ ...rest, group: read() });
  return inner;
}

/** One calculator row: first value, operator, second value, and a remove button. */
function rowEditor(item, ctx, parent) {
  const original = item && typeof item === "object" ? item : {};
  const operands = Array.isArray(original.operands) ? original.operands : [];
  const first = operandInput(operands[0], "First value", ctx);
  const second = operandInput(operands[1], "Second value", ctx);
  const calculator = calculatorSelect(original.calculator);
  const operatorCell = h("div", { class: "operator" }, calculator);
  const operandsCell = h("div", { class: "operands" }, first.element, operatorCell, second.element);
  const remove = h("button", { type: "button", class: "icon danger-icon" }, "×");
  const element = h("div", { class: "calc-row", role: "group" }, operandsCell, ctx.disabled ? null : remove);
  remove.addEventListener("click", () => parent.removeChild(editor));
  const editor = {
    element,
    read: () => ({ ...original, calculator: calculator.value, operands: [first.read(), second.read()] }),
    renumber(where, path) {
      element.dataset.where = where;
      operatorCell.dataset.where = `${where}.calculator`;
      operandsCell.dataset.where = `${where}.operands`;
      element.setAttribute("aria-label", `Comparison ${path}`);
      remove.setAttribute("aria-label", `Remove comparison ${path}`);
    },
  };
  return editor;
}

function calculatorSelect(value) {
  const chosen = ALIASES[value] ?? value ?? "equal";
  const options = CALCULATORS.map(([name, label]) => h("option", { value: name, selected: name === chosen }, label));
  // Keep a calculator this screen does not know, so saving shows the server's message about it.
  if (!CALCULATORS.some(([name]) => name === chosen)) {
    options.push(h("option", { value: chosen, selected: true }, `${chosen} (unknown)`));
  }
  return h("select", { "aria-label": "Operator" }, options);
}

/**
 * A text box for an operand. What is typed stays text (the engine compares loosely, "1" == 1); a
 * value of another type that was loaded is sent back as it was unless its text is changed.
 */
function operandInput(value, label, ctx) {
  const text = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
  const input = h("input", {
    type: "text",
    value: text,
    "aria-label": label,
    placeholder: "Value or {{ variable }}",
    spellcheck: "false",
  });
  const element = ctx.disabled ? h("div", { class: "templated" }, input) : withPicker(input, { label, variables: ctx.variables });
  return {
    element,
    read: () => (input.value === text && typeof value !== "string" && value !== undefined ? value : input.value),
  };
}
