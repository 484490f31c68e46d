/** The config of a node type without a form of its own, edited as JSON (the API checks the rest). */

import { h, pretty } from "../dom.js";
import { pickerField } from "./variable-picker.js";

/** A problem found before calling the API; showProblems() shows it like the API's own. */
export class FormProblem extends Error {
  constructor(where, message) {
    super(message);
    this.details = [{ where, message }];
  }
}

/** The value of JSON text, or a FormProblem at `where` saying what is wrong with it. */
export function parseJson(text, where) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FormProblem(where, `is not valid JSON: ${error.message}`);
  }
}

/** A labelled JSON textarea with an "Insert variable" button: {element, area}. */
export function jsonField(label, value, ctx, { where, hint, rows = 8 }) {
  const area = h("textarea", { rows, class: "code", spellcheck: "false" }, value === undefined ? "" : pretty(value));
  const element = pickerField(label, area, { where, hint, variables: ctx.variables, json: true, disabled: ctx.disabled });
  return { element, area };
}

/** An empty config. */
export function defaultConfig() {
  return {};
}

/** A "Config (JSON)" field; read() gives the object or throws a FormProblem. */
export function form(config, ctx) {
  const { element, area } = jsonField("Config (JSON)", config ?? {}, ctx, {
    where: "config",
    hint: "Strings may hold {{ variable }} placeholders.",
    rows: 14,
  });
  return {
    element,
    read() {
      const value = parseJson(area.value, "config");
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new FormProblem("config", "must be a JSON object, e.g. {}");
      }
      return value;
    },
  };
}
