/** The delay node's form: wait for a duration (a number of units) or until a time, then go on or end the execution. */

import { field, h } from "../dom.js";
import { choiceSelect } from "./choices.js";
import { FormProblem } from "./json-form.js";
import { pickerField } from "./variable-picker.js";

const UNITS = [
  ["milliseconds", "milliseconds"],
  ["seconds", "seconds"],
  ["minutes", "minutes"],
  ["hours", "hours"],
  ["days", "days"],
  ["weeks", "weeks"],
];
// NocoBase stores a unit as its length in milliseconds; the server reads both, the form shows the name.
const NOCOBASE_UNITS = { 1: "milliseconds", 1000: "seconds", 60000: "minutes", 3600000: "hours", 86400000: "days", 604800000: "weeks" };
const END_STATUSES = [
  ["resolved", "Go on with the next step"],
  ["failed", "End the execution as failed"],
];
const NOCOBASE_STATUSES = { 1: "resolved", [-1]: "failed" };

/** A new delay: a duration in seconds (the server's default unit), to be filled in. */
export function defaultConfig() {
  return { unit: "seconds" };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const untilGiven = config.until !== undefined && config.until !== null;
  const mode = choiceSelect(
    [
      ["duration", "For a duration"],
      ["until", "Until a time"],
    ],
    untilGiven ? "until" : "duration",
  );
  const duration = h("input", { type: "text", value: shown(config.duration), placeholder: "30", spellcheck: "false" });
  const unit = choiceSelect(UNITS, NOCOBASE_UNITS[config.unit] ?? config.unit ?? "seconds");
  const until = h("input", { type: "text", value: shown(config.until), placeholder: "2026-12-24T18:00:00Z or {{ variable }}", spellcheck: "false" });
  const endStatus = choiceSelect(END_STATUSES, NOCOBASE_STATUSES[config.endStatus] ?? config.endStatus ?? "resolved");
  const durationPart = h(
    "div",
    { class: "field-row" },
    pickerField("Duration", duration, { where: "config.duration", hint: "A number, or a variable holding one.", variables: ctx.variables, disabled: ctx.disabled }),
    field("Unit", unit, { where: "config.unit" }),
  );
  const untilPart = pickerField("Until", until, {
    where: "config.until",
    hint: "An ISO 8601 time (UTC unless it names a zone) or epoch milliseconds, or a variable holding one.",
    variables: ctx.variables,
    disabled: ctx.disabled,
  });
  const show = () => {
    durationPart.hidden = mode.value !== "duration";
    untilPart.hidden = mode.value !== "until";
  };
  mode.addEventListener("change", show);
  show();
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    field("Wait", mode, { hint: "The execution waits without holding a worker, and survives a restart." }),
    durationPart,
    untilPart,
    field("Then", endStatus, { where: "config.endStatus" }),
  );
  return {
    element,
    read() {
      const { duration: _d, unit: _u, until: _t, endStatus: _e, ...rest } = config;
      const read = { ...rest };
      const [box, where, what] =
        mode.value === "duration" ? [duration, "config.duration", "a number of units"] : [until, "config.until", "a time"];
      if (box.value.trim() === "") throw new FormProblem(where, `is required: ${what}, or a variable holding one`);
      read[mode.value] = numberOrText(box.value.trim());
      if (mode.value === "duration") read.unit = unit.value;
      if (endStatus.value !== "resolved" || "endStatus" in config) read.endStatus = endStatus.value;
      return read;
    },
  };
}

/** A config value as the text field shows it. */
function shown(value) {
  return value === undefined || value === null ? "" : String(value);
}

/** "30" as 30, "1.5" as 1.5; anything else (a template, a time) as the text. */
function numberOrText(text) {
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}
