/** The drawer that adds or edits one node: its title, the form of its type, and Save. */

import { api } from "../api.js";
import { field, h, uid } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { loopVariables } from "../forms/loop-variables.js";
import { formFor } from "../forms/node-forms.js";
import { variablesAt } from "../forms/variables.js";
import { notify } from "../notify.js";
import { onSubmit } from "../submit.js";
import { typeLabel } from "./canvas.js";
import { frozenNote } from "./workflow-settings.js";

const WIDE = new Set(["condition", "multi-conditions", "request", "loop"]);

/**
 * Open the drawer of `node`, or of a new node of `type` at `place` ({upstream_id, branch_index}).
 * Read-only with a note when !editable; onSaved() runs after a successful save.
 */
export function openNodeDrawer({ workflow, node, type, place, editable, onNewVersion, onSaved }) {
  const kind = node?.type ?? type;
  const module = formFor(kind);
  const variables = [...variablesAt(workflow, node, place), ...loopVariables(workflow, node, place)];
  const ctx = { disabled: !editable, variables, workflow, node };
  const view = module.form(node ? node.config ?? {} : module.defaultConfig(), ctx);
  const title = h("input", { type: "text", value: node ? node.title ?? "" : typeLabel(kind), placeholder: typeLabel(kind) });
  const form = h(
    "form",
    { class: "form node-form", novalidate: true, id: uid("node-form") },
    editable ? null : frozenNote(onNewVersion),
    // A disabled fieldset disables every control inside it at once.
    h(
      "fieldset",
      { class: "plain", disabled: !editable },
      field("Title", title, { where: "title" }),
      node ? h("p", { class: "hint node-key" }, "Key ", h("code", {}, node.key)) : null,
      view.element,
    ),
  );
  const save = h("button", { type: "submit", class: "primary", form: form.id }, "Save");
  const drawer = openDrawer({
    title: typeLabel(kind),
    content: form,
    actions: editable ? [save] : [],
    wide: WIDE.has(kind),
  });
  if (editable) {
    onSubmit(form, save, async () => {
      const config = view.read(); // a local problem (bad JSON) shows like the API's
      await store(workflow, node, { type: kind, place, title: title.value.trim() || null, config });
      notify(`${node ? "Saved" : "Added"} “${title.value.trim() || typeLabel(kind)}”.`);
      drawer.close();
      onSaved?.();
    });
  }
  return drawer;
}

/** PATCH an existing node, or POST a new one at its place (the server makes its key). */
function store(workflow, node, { type, place, title, config }) {
  if (node) return api.patch(`/workflows/${workflow.id}/nodes/${node.id}`, { title, config });
  return api.post(`/workflows/${workflow.id}/nodes`, {
    type,
    title,
    config,
    upstream_id: place?.upstream_id ?? null,
    branch_index: place?.branch_index ?? null,
  });
}
