/** The multi-conditions node's form: a list of titled conditions (branch i+1 each) and the no-match rule. */

import { field, h, toggle } from "../dom.js";
import { conditionEditor, emptyCondition, withoutCondition } from "./condition-editor.js";

/** A new multi-conditions node: one condition with one empty row. */
export function defaultConfig() {
  return {
    conditions: [{ title: "", ...emptyCondition() }],
    continueOnNoMatch: false,
  };
}

/** The form; read() gives the config, keeping fields it does not show. */
export function form(config, ctx) {
  const given = Array.isArray(config.conditions) ? config.conditions : [];
  const cards = [];
  const list = h("div", { class: "condition-list", "data-where": "config.conditions" });
  const add = h("button", { type: "button" }, "Add a condition branch");
  const cont = toggle("Continue when nothing matches", config.continueOnNoMatch === true, {
    where: "config.continueOnNoMatch",
  });
  const renumber = () => cards.forEach((card, i) => card.renumber(i));
  // Returns why a condition cannot go, or null once it is gone.
  const remove = (card) => {
    const at = cards.indexOf(card);
    // Branch i+1 belongs to condition i: removing one would move the later branches onto other conditions.
    if (branchesWithNodes(ctx).some((index) => index >= at + 1)) {
      return "Its branch or a later one holds nodes: delete or move them first, so no branch changes condition.";
    }
    cards.splice(at, 1);
    card.element.remove();
    renumber();
    add.focus();
    return null;
  };
  const append = (condition, focus) => {
    const card = conditionCard(condition, ctx, remove);
    cards.push(card);
    list.append(card.element);
    renumber();
    if (focus) card.title.focus();
  };
  given.forEach((condition) => append(condition, false));
  add.addEventListener("click", () => append({ title: "", ...emptyCondition() }, true));
  const element = h(
    "div",
    { class: "node-config", "data-where": "config" },
    list,
    ctx.disabled ? null : h("p", {}, add),
    cont.element,
    h("p", { class: "hint switch-hint" }, "Nothing matches: the Otherwise branch runs, then the execution fails unless this is on."),
  );
  return {
    element,
    read: () => ({ ...config, conditions: cards.map((card) => card.read()), continueOnNoMatch: cont.input.checked }),
  };
}

/** The branch indices of this node that hold nodes (none for a new node). */
function branchesWithNodes({ workflow, node }) {
  if (!node) return [];
  return (workflow.nodes ?? []).filter((n) => n.upstream_id === node.id && n.branch_index !== null).map((n) => n.branch_index);
}

function conditionCard(condition, ctx, remove) {
  const original = condition && typeof condition === "object" ? condition : {};
  const title = h("input", { type: "text", value: original.title ?? "" });
  const titleField = field("Branch title", title);
  const editor = conditionEditor(original, ctx, { where: "" });
  const heading = h("h3", {});
  const removeButton = h("button", { type: "button", class: "link danger-link" }, "Remove");
  const element = h(
    "section",
    { class: "condition-card" },
    h("div", { class: "card-head" }, heading, ctx.disabled ? null : removeButton),
    titleField,
    editor.element,
  );
  const card = {
    element,
    title,
    read() {
      const { title: _old, ...rest } = withoutCondition(original);
      const read = { ...rest, ...editor.read() };
      return title.value.trim() ? { title: title.value.trim(), ...read } : read;
    },
    renumber(i) {
      const where = `config.conditions[${i}]`;
      element.dataset.where = where;
      element.setAttribute("aria-label", `Condition ${i + 1}`);
      heading.textContent = `Condition ${i + 1}`;
      titleField.dataset.where = `${where}.title`;
      title.placeholder = `Condition ${i + 1}`;
      removeButton.setAttribute("aria-label", `Remove condition ${i + 1}`);
      editor.renumber(`${where}.`);
    },
  };
  removeButton.addEventListener("click", () => {
    const refused = remove(card);
    element.querySelector(".field-error.refused")?.remove();
    if (refused) element.append(h("p", { class: "field-error refused", role: "alert" }, refused));
  });
  return card;
}
