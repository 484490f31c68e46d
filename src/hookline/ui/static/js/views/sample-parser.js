/** A sample URL or body with its Parse button: the API lists the sample's paths, merged into a path table. */

import { api } from "../api.js";
import { field, h } from "../dom.js";
import { clearProblems, placeProblem } from "../problems.js";
import { readSamples, rememberSample } from "./samples.js";

/** The body formats a sample may be in: a name shown in labels, the Content-Type sent, an example. */
export const BODY_FORMATS = {
  json: { name: "JSON", type: "application/json", example: '{"order": {"id": 42}}' },
  form: { name: "form", type: "application/x-www-form-urlencoded", example: "order[id]=42&order[status]=paid" },
  xml: { name: "XML", type: "application/xml", example: '<order id="42"><status>paid</status></order>' },
  ndjson: { name: "NDJSON", type: "application/x-ndjson", example: '{"id": 1}\n{"id": 2}' },
  text: { name: "text", type: "text/plain", example: "Any text" },
};

/**
 * The sample textarea of `kind` ("query" or "body") for the workflow key `key`, starting from
 * `sample`; Parse merges the paths into `table` (a pathTable) and says what it did. A body sample
 * has a format choice; a JSON one is read by /parse/json, the others by /parse/body.
 */
export function sampleParser(key, kind, sample, table, editable) {
  const isQuery = kind === "query";
  const area = h("textarea", { rows: isQuery ? 2 : 5, class: "code", spellcheck: "false", disabled: !editable }, sample ?? "");
  const box = field(isQuery ? "Sample URL or query string" : "Sample JSON body", area);
  area.placeholder = "https://example.com/hook?order[id]=42&source=shop";
  const format = isQuery
    ? null
    : formatChoice(readSamples(key).bodyFormat, editable, (chosen) => {
        box.querySelector("label").textContent = `Sample ${chosen.name} body`;
        area.placeholder = chosen.example;
      });
  const status = h("p", { class: "hint parse-status", "aria-live": "polite" });
  const button = h("button", { type: "button", disabled: !editable }, "Parse");
  button.addEventListener("click", async () => {
    clearProblems(box);
    status.textContent = "";
    button.disabled = true;
    try {
      const parsed = await parse(isQuery, format?.value ?? "json", area.value);
      rememberSample(key, kind, area.value);
      if (format) rememberSample(key, "bodyFormat", format.value);
      status.textContent = mergeInto(table, parsed.items);
    } catch (error) {
      placeProblem(box, error.message);
      area.focus();
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "sample" }, format ? field("Sample format", format) : null, box, h("div", { class: "sample-actions" }, button, status));
}

/** Merge parsed `items` into a path table; what it did, in a sentence or two. */
export function mergeInto(table, items) {
  const { added, skipped } = table.add(items);
  return summary(items.length, added, skipped);
}

function parse(isQuery, format, text) {
  if (isQuery) return api.post("/parse/query", { sample: text });
  if (format === "json") return api.post("/parse/json", { text });
  return api.post("/parse/body", { text, contentType: BODY_FORMATS[format].type });
}

/** A select of the body formats, at `chosen` (else JSON); `onChange(format)` runs at once and on every change. */
function formatChoice(chosen, editable, onChange) {
  const select = h(
    "select",
    { disabled: !editable },
    Object.entries(BODY_FORMATS).map(([value, { name, type }]) => h("option", { value, selected: value === chosen }, `${name} (${type})`)),
  );
  select.addEventListener("change", () => onChange(BODY_FORMATS[select.value]));
  onChange(BODY_FORMATS[select.value]);
  return select;
}

/** What a parse did, in a sentence or two: how many paths were new, and which renamed ones it skipped. */
function summary(total, added, skipped) {
  if (!total) return "The sample has no paths.";
  const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const head = added
    ? `Added ${plural(added, "new path")} of ${total}.`
    : skipped.length
      ? "No new paths."
      : `No new paths: all ${total} are in the table already.`;
  if (!skipped.length) return head;
  const names = skipped.map(({ key, to }) => `${key} (now ${to})`).join(", ");
  return `${head} Skipped ${plural(skipped.length, "path")} you renamed: ${names}.`;
}
