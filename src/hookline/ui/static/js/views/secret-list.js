/** Write-only secrets: a stored one shows as "set" (Replace, Remove), a new one is typed, `{{$env.NAME}}` shows as it is. */

import { h, replace, uid } from "../dom.js";

// The admin API never returns a stored literal secret: it answers a placeholder in its place
// ("[secret:i]" for index i of a list, "[secret]" for the password), and a save that sends that
// placeholder back keeps the secret it names, wherever it now stands in the list. A reference to
// the environment is not secret, so it comes back as written and is edited as text.
const ENV_REFERENCE = /^\{\{\s*\$env\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$/;

/** Whether `value` reads a secret from the server's environment (`{{$env.NAME}}`). */
function isEnvReference(value) {
  return typeof value === "string" && ENV_REFERENCE.test(value.trim());
}

/** Whether typed text is (the start of) a reference, which is shown rather than hidden. */
function looksLikeReference(text) {
  return text.trimStart().startsWith("{{");
}

/**
 * A list of secrets (signing secrets, API keys) from the API's `values`. Options: editable, noun
 * (names each row: "Signing secret" → "Signing secret 1"), where (the config path of the list, so
 * problems land on their row), adding (the label of the button that adds one, for rotation).
 * A list with nothing stored starts with one empty row. Returns {element, values()}.
 */
export function secretList(values, { editable = true, noun = "Secret", where, adding = "Add a secret" } = {}) {
  const rows = (values ?? []).map(stored);
  if (!rows.length && editable) rows.push(typed(""));
  const list = h("div", { class: "secret-rows" });
  const add = editable ? h("button", { type: "button", onclick: () => addRow() }, adding) : null;
  const element = h("div", { class: "secret-list", "data-where": where }, list, add);

  function render() {
    const drawn = rows.map((row, index) => rowElement(row, index, { noun, where, editable, onChange: change }));
    replace(list, drawn.length ? drawn : h("p", { class: "hint" }, "None yet."));
  }

  function change(row, action) {
    const index = rows.indexOf(row);
    if (action === "replace") rows[index] = typed("", { replacing: row });
    else if (action === "keep") rows[index] = row.replacing;
    else if (action === "remove") rows.splice(index, 1);
    render();
    focusAfter(list, action, index);
  }

  function addRow() {
    rows.push(typed(""));
    render();
    list.querySelector(".secret-row:last-child input")?.focus();
  }

  render();
  return {
    element,
    /** The list to save: the placeholder the API answered for each kept secret, the typed text for the others. */
    values: () => rows.map(valueOf),
  };
}

/**
 * One write-only secret (the Basic-auth password) labelled `label`, from the API's `value` (absent
 * for none). Returns {element, value()}: the API's answer while kept, else the typed text.
 */
export function secretField(label, value, { editable = true, where } = {}) {
  let row = value ? stored(value) : typed("");
  const holder = h("div", { class: "field secret-field", "data-where": where });
  const draw = () => replace(holder, rowElement(row, 0, { noun: label, editable, single: true, onChange: change }));
  function change(current, action) {
    row = action === "replace" ? typed("", { replacing: current }) : current.replacing;
    draw();
    holder.querySelector("input, button")?.focus();
  }
  draw();
  return { element: holder, value: () => valueOf(row) };
}

/** A row for what the API answered: a kept secret holding its placeholder, or a reference to edit. */
function stored(value) {
  return isEnvReference(value) ? typed(value) : { kept: true, value };
}

function typed(text, { replacing = null } = {}) {
  return { kept: false, text, replacing };
}

function valueOf(row) {
  return row.kept ? row.value : row.text;
}

/** A kept secret ("set", Replace, Remove) or a box to type one; `single` labels it by `noun` alone. */
function rowElement(row, index, { noun, where, editable, single = false, onChange }) {
  const name = single ? noun : `${noun} ${index + 1}`;
  const at = single ? undefined : where && `${where}[${index}]`;
  const remove = editable && !single
    ? h("button", { type: "button", class: "icon danger-text", "aria-label": `Remove ${lower(name)}`, title: "Remove", onclick: () => onChange(row, "remove") }, "×")
    : null;
  if (row.kept) {
    const labelId = uid("secret");
    return h(
      "div",
      { class: "secret-row kept", role: "group", "aria-labelledby": labelId, "data-where": at },
      h("span", { class: single ? "group-title" : "secret-name", id: labelId }, name),
      h("span", { class: "badge set" }, "set"),
      h("span", { class: "hint" }, "stored, never shown"),
      editable ? h("button", { type: "button", onclick: () => onChange(row, "replace") }, `Replace ${lower(name)}`) : null,
      remove,
    );
  }
  const input = h("input", {
    type: looksLikeReference(row.text) ? "text" : "password",
    value: row.text,
    disabled: !editable,
    class: "code",
    autocomplete: "new-password",
    spellcheck: "false",
    placeholder: "The secret, or {{$env.NAME}}",
    // A reference to the environment is not secret: show it as it is typed.
    oninput: (event) => {
      row.text = event.target.value;
      event.target.type = looksLikeReference(row.text) ? "text" : "password";
    },
  });
  input.id = uid("secret-input");
  const keep = editable && row.replacing
    ? h("button", { type: "button", onclick: () => onChange(row, "keep") }, "Keep the stored one")
    : null;
  const label = h("label", { for: input.id, class: single ? null : "secret-name" }, name);
  return h(
    "div",
    { class: "secret-row", "data-where": at },
    single ? label : null,
    h("div", { class: "row" }, single ? null : label, input, keep, remove),
  );
}

function focusAfter(list, action, index) {
  const rows = list.querySelectorAll(".secret-row");
  const target = rows[Math.min(index, rows.length - 1)];
  (target?.querySelector(action === "replace" ? "input" : "button, input") ?? list.parentElement.querySelector("button"))?.focus();
}

function lower(text) {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
