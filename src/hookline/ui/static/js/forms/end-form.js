/** The End node's form: the status the execution ends with. */

import { field, h } from "../dom.js";

// NocoBase's numeric codes mean the same statuses.
const NAMES = { 1: "resolved", "-1": "failed" };

/** A new End node ends the execution as resolved. */
export function defaultConfig() {
  return { endStatus: "resolved" };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const value = NAMES[config.endStatus] ?? config.endStatus ?? "resolved";
  const options = [
    ["resolved", "Resolved (success)"],
    ["failed", "Failed"],
  ];
  if (!options.some(([name]) => name === value)) options.push([String(value), `${value} (unknown)`]);
  const status = h(
    "select",
    {},
    options.map(([name, label]) => h("option", { value: name, selected: name === value }, label)),
  );
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("End status", status, {
      where: "config.endStatus",
      hint: ctx.workflow?.sync ? "A synchronous caller gets 200 for resolved and 500 for failed." : null,
    }),
  );
  return { element, read: () => ({ ...config, endStatus: status.value }) };
}
