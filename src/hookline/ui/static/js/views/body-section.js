/** The trigger drawer's "Body formats" section: what hookline reads of each body, the raw body, and file uploads. */

import { field, h, switchedFields, uid } from "../dom.js";

const MIB = 1024 * 1024;
const DEFAULT_FILES = { maxFileSize: 10 * MIB, maxTotal: 25 * MIB };

/** The formats `$context.body` is read from, by Content-Type (docs/bodies.md). */
const FORMATS = [
  ["application/json, +json", "JSON, as sent."],
  ["application/x-www-form-urlencoded", "form fields, with nested names such as order[id] as in the query string."],
  ["multipart/form-data", "form fields, and for each file its name, type, size and sha256 (the bytes when files are accepted)."],
  ["application/xml, text/xml, +xml", "a dict: attributes, repeated elements as lists, text nodes."],
  ["application/x-ndjson, application/jsonl", "a list, one item per line."],
  ["text/*", "the text."],
];

/**
 * The section over `request` (config.request). Returns {element, value(), problems()}: value()
 * gives the rawBody and files fields to merge into the request config, each only when it is set or
 * was; problems() the sizes typed that are not sizes, as {where, message}.
 */
export function bodySection(request, { editable }) {
  const rawBody = h("input", { type: "checkbox", checked: request.rawBody === true, disabled: !editable, id: uid("raw-body") });
  const rawHint = h(
    "p",
    { class: "hint", id: uid("hint") },
    "For code that needs the exact bytes: the text, or base64 (and said so) when it is not text. Off by default: it doubles what each execution stores.",
  );
  rawBody.setAttribute("aria-describedby", rawHint.id);
  const files = filesPart(request.files, editable);
  const title = h("h3", { id: uid("formats") }, "Body formats");
  return {
    element: h(
      "section",
      { class: "body-formats", "aria-labelledby": title.id },
      title,
      h("p", { class: "hint" }, "$context.body is read by the request's Content-Type; any other type, or none, gives null. A malformed body gets 400 and nothing runs."),
      h("dl", { class: "formats" }, FORMATS.map(([type, reads]) => [h("dt", {}, h("code", {}, type)), h("dd", {}, reads)])),
      h("div", { class: "field check" }, rawBody, h("label", { for: rawBody.id }, "Keep the raw body as $context.rawBody"), rawHint),
      files.element,
    ),
    value() {
      const chosen = {};
      if (rawBody.checked || "rawBody" in request) chosen.rawBody = rawBody.checked;
      const upload = files.value();
      if (upload || "files" in request) chosen.files = upload;
      return chosen;
    },
    problems: files.problems,
  };
}

/** The file-upload switch with its two limits, shown in MiB and saved in bytes. */
function filesPart(setting, editable) {
  const on = Boolean(setting);
  const limits = { ...DEFAULT_FILES, ...(on ? setting : {}) };
  const size = (bytes) =>
    h("input", { type: "number", min: 0.001, step: "any", value: String(+(bytes / MIB).toFixed(3)), disabled: !editable, class: "short" });
  const maxFileSize = size(limits.maxFileSize);
  const maxTotal = size(limits.maxTotal);
  const fields = h(
    "div",
    { class: "files-fields" },
    field("Largest file (MiB)", maxFileSize, { where: "config.request.files.maxFileSize" }),
    field("All files of a request (MiB)", maxTotal, { where: "config.request.files.maxTotal", hint: "More gets 413 and nothing is kept." }),
  );
  const { element, input } = switchedFields("Keep uploaded files", on, {
    fields,
    hint: "Off: a multipart body's files are described but their bytes are not stored. On: later nodes and the API can read them, until the execution is deleted.",
    where: "config.request.files",
    editable,
    focus: maxFileSize,
  });
  const bytes = (box) => Math.round(Number(box.value) * MIB);
  const limitBoxes = { maxFileSize, maxTotal };
  return {
    element: h("div", { class: "files" }, element),
    value: () => (input.checked ? { maxFileSize: bytes(maxFileSize), maxTotal: bytes(maxTotal) } : false),
    // The server counts bytes; a size typed in MiB is checked here, so the message speaks of MiB.
    problems: () =>
      Object.entries(limitBoxes)
        .filter(([, box]) => input.checked && !(box.value.trim() !== "" && bytes(box) >= 1))
        .map(([name]) => ({ where: `config.request.files.${name}`, message: "Type a size in MiB, e.g. 10 or 0.5." })),
  };
}
