/** The body of a test request: its format (JSON, form, multipart, XML, NDJSON, text), what is typed, and the bytes sent. */

import { field, h, pretty, uid } from "../dom.js";
import { headerRows } from "./header-rows.js";
import { BODY_FORMATS } from "./sample-parser.js";

/** The formats a test request can send: those of a sample, and multipart, built by the browser (FormData). */
const FORMATS = {
  json: { ...BODY_FORMATS.json, label: "JSON" },
  form: { ...BODY_FORMATS.form, label: "Form" },
  multipart: { name: "multipart", type: "multipart/form-data", label: "Multipart form" },
  xml: { ...BODY_FORMATS.xml, label: "XML" },
  ndjson: { ...BODY_FORMATS.ndjson, label: "NDJSON" },
  text: { ...BODY_FORMATS.text, label: "Text" },
};

/**
 * The body part of the test-request form, starting from the sample last parsed (`samples`, in its
 * format) or else a JSON skeleton of the configured body `paths`. Returns {element, build()}:
 * build() resolves to {body, contentType, text} — the bytes or text to send, its Content-Type, and
 * the body as text for signing (null when it is not UTF-8 text).
 */
export function testBody(samples, paths) {
  const start = FORMATS[samples.bodyFormat] && samples.body !== undefined ? samples.bodyFormat : "json";
  const texts = Object.fromEntries(Object.entries(FORMATS).map(([name, { example }]) => [name, example ?? ""]));
  texts.json = skeleton(paths);
  if (samples.body !== undefined) texts[start] = samples.body;

  const format = h(
    "select",
    {},
    Object.entries(FORMATS).map(([value, { label, type }]) => h("option", { value, selected: value === start }, `${label} (${type})`)),
  );
  const area = h("textarea", { rows: 8, class: "code", spellcheck: "false" }, texts[start]);
  const typed = field("JSON body", area, { hint: "Sent as typed." });
  const fields = headerRows([], { noun: "form field", adding: "Add a field", none: "No fields." });
  const fileName = h("input", { type: "text", class: "code", value: "file", spellcheck: "false", autocomplete: "off" });
  const file = h("input", { type: "file" });
  const fieldsTitle = h("span", { class: "group-title", id: uid("group") }, "Form fields");
  const multipart = h(
    "div",
    { class: "multipart" },
    h("div", { class: "field", role: "group", "aria-labelledby": fieldsTitle.id }, fieldsTitle, fields.element, h("p", { class: "hint" }, "Names may nest, as in order[id].")),
    h("div", { class: "row" }, field("File field name", fileName), field("File", file, { hint: "Optional." })),
  );
  let shown = start;
  const show = () => {
    texts[shown] = area.value;
    shown = format.value;
    const { label, type } = FORMATS[shown];
    typed.hidden = shown === "multipart";
    multipart.hidden = shown !== "multipart";
    typed.querySelector("label").textContent = `${label} body`;
    typed.querySelector(".hint").textContent = `Sent as typed with Content-Type: ${type} (not for GET).`;
    area.value = texts[shown];
  };
  format.addEventListener("change", show);
  show();

  return {
    element: h("div", { class: "test-body" }, field("Body format", format), typed, multipart),
    async build() {
      if (format.value !== "multipart") {
        return { body: area.value, contentType: FORMATS[format.value].type, text: area.value };
      }
      const data = new FormData();
      for (const { name, value } of fields.items()) if (name.trim()) data.append(name.trim(), value);
      if (file.files.length) data.append(fileName.value.trim() || "file", file.files[0]);
      // Serialize once, so the bytes sent are exactly the bytes signed (the boundary is random).
      const serialized = new Response(data);
      const bytes = new Uint8Array(await serialized.arrayBuffer());
      return { body: bytes, contentType: serialized.headers.get("Content-Type"), text: utf8(bytes) };
    },
  };
}

function utf8(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** A JSON body skeleton with an empty string at each path: order.id, order.status → {"order": {"id": "", "status": ""}}. */
export function skeleton(paths) {
  if (!paths.length) return "{}";
  let root;
  for (const path of paths) {
    const segments = splitPath(path);
    if (!segments.length) continue;
    root ??= typeof segments[0] === "number" ? [] : {};
    let node = root;
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (last) {
        if (node[segment] === undefined) node[segment] = "";
        return;
      }
      const container = typeof segments[i + 1] === "number" ? [] : {};
      // A path listed before its children ("order", then "order.id") left a placeholder; replace it.
      if (node[segment] === undefined || typeof node[segment] !== "object") node[segment] = container;
      node = node[segment];
    });
  }
  return pretty(root ?? {});
}

/** The segments of a path such as `a.b[0]["x.y"]`: names as strings, list indexes as numbers. */
function splitPath(path) {
  const segments = [];
  const pattern = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.[\]]+)/g;
  for (const found of path.matchAll(pattern)) {
    if (found[1] !== undefined) segments.push(Number(found[1]));
    else if (found[2] !== undefined) segments.push(found[2].replace(/\\(.)/g, "$1"));
    else segments.push(found[3]);
  }
  return segments;
}
