/** The Variable node's form: declare a new variable, or assign to one declared upstream; and its value. */

import { field, h } from "../dom.js";
import { jsonField, parseJson } from "./json-form.js";

const DECLARE = "";

/** A new Variable declares one, with no value yet. */
export function defaultConfig() {
  return { target: null, value: null };
}

/** The form; read() gives the config (it throws a FormProblem when the value is not JSON). */
export function form(config, ctx) {
  const current = typeof config.target === "string" ? config.target : DECLARE;
  const choices = [[DECLARE, "Declare a new variable (this node)"]];
  for (const node of variablesUpstream(ctx)) {
    choices.push([node.key, `Assign to ${node.title || "Variable"} (${node.key})`]);
  }
  // A target that is not upstream any more stays visible, so saving shows its problem instead of losing it.
  if (!choices.some(([key]) => key === current)) choices.push([current, `Assign to ${current} (not upstream)`]);
  const target = h(
    "select",
    {},
    choices.map(([key, label]) => h("option", { value: key, selected: key === current }, label)),
  );
  const value = jsonField("Value (JSON)", config.value, ctx, {
    where: "config.value",
    hint: 'Any JSON. "{{ variable }}" alone in quotes keeps the variable\'s type (a number, an object).',
    rows: 5,
  });
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("Variable", target, {
      where: "config.target",
      hint: "Later nodes read it as {{$jobsMapByNodeKey.<key of the declaring node>}}.",
    }),
    value.element,
  );
  return {
    element,
    read() {
      const text = value.area.value.trim();
      return {
        ...config,
        target: target.value === DECLARE ? null : target.value,
        value: text === "" ? null : parseJson(text, "config.value"),
      };
    },
  };
}

/**
 * The variable nodes that run before this one: those the picker offers as upstream results
 * (its groups name each upstream node's key), that declare a variable themselves.
 */
function variablesUpstream(ctx) {
  const groups = typeof ctx.variables === "function" ? ctx.variables() : ctx.variables ?? [];
  const keys = new Set(groups.flatMap((group) => group.items.map((item) => upstreamKey(item.text))).filter(Boolean));
  return (ctx.workflow?.nodes ?? []).filter(
    (node) => node.type === "variable" && keys.has(node.key) && node.key !== ctx.node?.key && !node.config?.target,
  );
}

function upstreamKey(text) {
  const match = /^\{\{\$jobsMapByNodeKey\.([^}]+)\}\}$/.exec(text ?? "");
  return match ? match[1] : null;
}
