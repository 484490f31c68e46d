/** The parallel node's form: how the branches, run at the same time, decide whether the flow goes on. */

import { h, uid } from "../dom.js";

const MODES = [
  ["all", "All succeed", "Goes on once every branch has resolved; fails as soon as one fails."],
  ["any", "Any succeeds", "Goes on as soon as one branch resolves; fails when all have failed."],
  ["race", "First to finish", "The first branch to finish decides, resolved or failed."],
  ["allSettled", "All settle", "Waits for every branch and goes on whatever they did."],
];
// NocoBase writes the mode as a number; the server reads both, the form shows and saves the name.
const NOCOBASE_MODES = { 0: "all", 1: "any", 2: "race" };

/** A new parallel node: every branch must succeed (the server's default). */
export function defaultConfig() {
  return { mode: "all" };
}

/** The form: one radio button per mode; read() gives the config, keeping fields it does not show. */
export function form(config) {
  const current = NOCOBASE_MODES[config.mode] ?? config.mode ?? "all";
  const name = uid("mode");
  const known = MODES.some(([value]) => value === current);
  const modes = known ? MODES : [...MODES, [current, `${current} (not available)`, "A mode this server does not know."]];
  const choices = modes.map(([value, label, hint]) => {
    const input = h("input", { type: "radio", name, value, checked: value === current, id: uid("choice") });
    return {
      input,
      element: h("label", { class: "choice", for: input.id }, input, h("span", {}, h("strong", {}, label), h("span", { class: "hint" }, hint))),
    };
  });
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    h(
      "fieldset",
      { class: "field", "data-where": "config.mode" },
      h("legend", {}, "Go on when"),
      choices.map((choice) => choice.element),
    ),
    h(
      "p",
      { class: "hint" },
      "Every branch runs at the same time, each with its own jobs. Add branches on the flow with “Add a branch”; branches still running once the outcome is decided are canceled.",
    ),
  );
  return {
    element,
    read: () => ({ ...config, mode: choices.find((choice) => choice.input.checked)?.input.value ?? "all" }),
  };
}
