/** A sample URL or JSON body with its Parse button: the API lists the sample's paths, merged into a path table. */

import { api } from "../api.js";
import { field, h } from "../dom.js";
import { clearProblems, placeProblem } from "../problems.js";
import { rememberSample } from "./samples.js";

/**
 * The sample textarea of `kind` ("query" or "body") for the workflow key `key`, starting from
 * `sample`; Parse merges the paths into `table` (a pathTable) and says what it did.
 */
export function sampleParser(key, kind, sample, table, editable) {
  const isQuery = kind === "query";
  const area = h(
    "textarea",
    { rows: isQuery ? 2 : 5, class: "code", spellcheck: "false", disabled: !editable, placeholder: isQuery ? "https://example.com/hook?order[id]=42&source=shop" : '{"order": {"id": 42}}' },
    sample ?? "",
  );
  const box = field(isQuery ? "Sample URL or query string" : "Sample JSON body", area);
  const status = h("p", { class: "hint parse-status", "aria-live": "polite" });
  const button = h("button", { type: "button", disabled: !editable }, "Parse");
  button.addEventListener("click", async () => {
    clearProblems(box);
    status.textContent = "";
    button.disabled = true;
    try {
      const parsed = isQuery
        ? await api.post("/parse/query", { sample: area.value })
        : await api.post("/parse/json", { text: area.value });
      rememberSample(key, kind, area.value);
      const { added, skipped } = table.add(parsed.items);
      status.textContent = summary(parsed.items.length, added, skipped);
    } catch (error) {
      placeProblem(box, error.message);
      area.focus();
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "sample" }, box, h("div", { class: "sample-actions" }, button, status));
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
