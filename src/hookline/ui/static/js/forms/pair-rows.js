/** A list of rows of two fields (a header's name and value, a result field's path and alias) with Add and Remove buttons. */

import { h } from "../dom.js";

/**
 * The fieldset of the rows made from `given` by `row(entry, ctx, remove)`, which returns
 * {element, renumber(i), read(), first} (`first`: the field to focus in a new row); `blank` is a new
 * row's entry, `where` the config path its problems are shown at. Gives {element, read() → entries}.
 */
export function pairRows({ given, ctx, row, blank, where, legend, addLabel, hint = null }) {
  const rows = [];
  const list = h("div", { class: "pair-list" });
  const add = h("button", { type: "button" }, addLabel);
  const renumber = () => rows.forEach((made, i) => made.renumber(i));
  const append = (entry, focus) => {
    const made = row(entry, ctx, () => {
      rows.splice(rows.indexOf(made), 1);
      made.element.remove();
      renumber();
      add.focus();
    });
    rows.push(made);
    list.append(made.element);
    renumber();
    if (focus) made.first.focus();
  };
  given.forEach((entry) => append(entry, false));
  add.addEventListener("click", () => append({ ...blank }, true));
  const element = h(
    "fieldset",
    { class: "field pairs", "data-where": where },
    h("legend", {}, legend),
    hint ? h("p", { class: "hint" }, hint) : null,
    list,
    ctx.disabled ? null : add,
  );
  return { element, read: () => rows.map((made) => made.read()) };
}
