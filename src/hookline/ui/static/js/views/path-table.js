/** A table of request paths (header names, query or body paths): each row's key and alias edited in place, and Delete. */

import { h, replace } from "../dom.js";
import { keyProblem } from "../paths.js";
import { clearProblems, placeProblem } from "../problems.js";

/**
 * A path table over `items` ([{key, alias}]; other fields of an item, such as `_var`, are kept).
 * Options: part ("headers", "query" or "body": how a typed key is checked), editable (key and
 * alias inputs, Delete, and a row to add a path by hand), label (the name of the key column, e.g.
 * "Body path"), where (the config path of the list, e.g. "config.request.body", so that API
 * problems land on their row), secret (a "Secret" checkbox per row, saved as `secret: true`),
 * renamed ({old key: new key} of earlier edits, so that parsing a sample again skips old keys).
 * Returns {element, items(), add(items), problems(), renamed()}: see each below.
 */
export function pathTable(items, { part, editable = true, label = "Path", where, secret = false, renamed = {} } = {}) {
  const noun = label.toLowerCase();
  const rows = [];
  let drawn = []; // the key input of each row, as drawn now
  const renames = new Map(Object.entries(renamed ?? {}));
  const body = h("tbody");
  const empty = h("p", { class: "hint path-empty" }, "No rows yet.");
  const columns = [label, "Alias", secret ? "Secret" : null].filter(Boolean).map((name) => h("th", { scope: "col" }, name));
  const table = h(
    "table",
    { class: `list path-table${secret ? " with-secret" : ""}` },
    h("caption", { class: "visually-hidden" }, label),
    h("thead", {}, h("tr", {}, columns, editable ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
    body,
  );
  const frame = h("div", { class: "table-wrap" }, table);
  const element = h("div", { class: "path-table-wrap", "data-where": where }, frame, empty, editable ? adder() : null);

  function render() {
    drawn = [];
    replace(body, rows.map((row, index) => rowElement(row, index)));
    frame.hidden = rows.length === 0;
    empty.hidden = rows.length > 0;
  }

  function rowElement(row, index) {
    const at = where ? `${where}[${index}]` : undefined;
    const key = editable
      ? h("input", { type: "text", value: row.key, class: "code", spellcheck: "false", autocomplete: "off" })
      : h("code", {}, row.key);
    const keyCell = h("td", { "data-where": at }, key);
    const alias = h("input", {
      type: "text",
      value: row.alias ?? "",
      disabled: !editable,
      placeholder: "Display name (optional)",
      oninput: (event) => (row.alias = event.target.value),
    });
    const secretBox = secret
      ? h("input", { type: "checkbox", checked: row.secret === true, disabled: !editable, onchange: (event) => (row.secret = event.target.checked) })
      : null;
    const remove = editable
      ? h("button", { type: "button", class: "icon danger-text", title: "Delete", onclick: () => removeRow(index) }, "×")
      : null;
    // Every control is named after the row's key, so a committed edit renames them all.
    const relabel = () => {
      if (editable) key.setAttribute("aria-label", `${label} ${row.key}`);
      alias.setAttribute("aria-label", `Alias of ${row.key}`);
      secretBox?.setAttribute("aria-label", `${row.key} is secret`);
      remove?.setAttribute("aria-label", `Delete ${row.key}`);
    };
    relabel();
    if (editable) {
      drawn.push({ row, input: key, cell: keyCell, relabel });
      key.addEventListener("change", () => {
        if (!commit(row, key, keyCell)) relabel();
      });
      key.addEventListener("keydown", (event) => keyDown(event, row, key, keyCell, relabel));
    }
    return h(
      "tr",
      {},
      keyCell,
      h("td", { "data-where": at && `${at}.alias` }, alias),
      secret ? h("td", { class: "secret", "data-where": at && `${at}.secret` }, secretBox) : null,
      editable ? h("td", { class: "row-actions" }, remove) : null,
    );
  }

  /** Enter commits the typed key (without submitting the drawer); Escape puts the saved one back. */
  function keyDown(event, row, input, cell, relabel) {
    if (event.key === "Enter") {
      event.preventDefault();
      if (!commit(row, input, cell)) relabel();
    } else if (event.key === "Escape" && input.value !== row.key) {
      event.stopPropagation(); // the first Escape undoes the edit; the next one closes the drawer
      input.value = row.key;
      clearProblems(cell);
    }
  }

  /** Make the key typed in `input` the row's, or show why not beside it; the problem, or null. */
  function commit(row, input, cell) {
    const key = input.value.trim();
    clearProblems(cell);
    if (key === row.key) {
      input.value = key;
      return null;
    }
    const problem = keyProblem(key, { part, noun, taken: rows.filter((other) => other !== row).map((other) => other.key) });
    if (problem) {
      placeProblem(cell, problem, { role: "alert" });
      return problem;
    }
    rename(row.key, key);
    row.key = key;
    input.value = key;
    return null;
  }

  function rename(from, to) {
    for (const [old, target] of renames) if (target === from) renames.set(old, to);
    renames.set(from, to);
    renames.delete(to);
  }

  function removeRow(index) {
    rows.splice(index, 1);
    render();
    // Keep the keyboard where it was: on the next row's Delete, else on the row to add paths.
    const buttons = body.querySelectorAll("button");
    (buttons[Math.min(index, buttons.length - 1)] ?? element.querySelector(".path-adder input"))?.focus();
  }

  /**
   * Merge parsed items: rows that exist keep their alias, new keys are appended, and a key that
   * was renamed in this table is skipped while the row it became is here. Answers
   * {added, skipped: [{key, to}]}.
   */
  function add(newItems, { skipRenamed = true } = {}) {
    const known = new Set(rows.map((row) => row.key));
    const skipped = [];
    let added = 0;
    for (const item of newItems) {
      if (!item?.key || known.has(item.key)) continue;
      const to = renames.get(item.key);
      if (skipRenamed && to !== undefined && known.has(to)) {
        skipped.push({ key: item.key, to });
        continue;
      }
      known.add(item.key);
      rows.push({ ...item, alias: item.alias ?? "" });
      added += 1;
    }
    render();
    return { added, skipped };
  }

  function adder() {
    const input = h("input", { type: "text", "aria-label": `New ${noun}`, placeholder: `New ${noun}`, autocomplete: "off", spellcheck: "false" });
    const box = h("div", { class: "path-adder" });
    const addTyped = () => {
      const key = input.value.trim();
      clearProblems(box);
      const problem = keyProblem(key, { part, noun, taken: rows.map((row) => row.key) });
      if (problem) {
        placeProblem(box, problem, { role: "alert" });
        return input.focus();
      }
      add([{ key, alias: "" }], { skipRenamed: false });
      input.value = "";
      input.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter adds the row; it must not submit the drawer's form
        addTyped();
      }
    });
    return replace(box, h("div", { class: "row" }, input, h("button", { type: "button", onclick: addTyped }, "Add a row")));
  }

  add(items ?? [], { skipRenamed: false });
  return {
    element,
    /** The rows as config items, in order; `secret` only where it is true. */
    items: () => rows.map((row) => asItem(row, secret)),
    add,
    /** Commit the keys typed and not yet committed; the problems of those that cannot be, as {where, message}. */
    problems: () =>
      drawn.flatMap(({ row, input, cell, relabel }, index) => {
        const problem = input.value.trim() === row.key ? null : commit(row, input, cell);
        if (!problem) relabel();
        return problem ? [{ where: `${where}[${index}].key`, message: problem }] : [];
      }),
    /** The renames whose new key is still in the table, {old key: new key}, to remember for later parses. */
    renamed: () => Object.fromEntries([...renames].filter(([, to]) => rows.some((row) => row.key === to))),
  };
}

function asItem(row, secret) {
  const item = { ...row };
  if (secret) {
    if (row.secret === true) item.secret = true;
    else delete item.secret;
  }
  return item;
}
