/** The workflow's settings: title, description, and its options (timeout and the rest as JSON). */

import { api } from "../api.js";
import { field, h } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { onSubmit } from "../submit.js";

/** Open the settings drawer of a workflow version. */
export function openSettings(workflow, { editable, onSaved, onNewVersion }) {
  const title = h("input", { type: "text", value: workflow.title, disabled: !editable });
  const description = h("textarea", { rows: 2, disabled: !editable }, workflow.description ?? "");
  const { timeout, ...rest } = workflow.options ?? {};
  const timeoutInput = h("input", { type: "number", min: 0, step: 1, value: timeout ?? "", disabled: !editable });
  const others = h("textarea", { rows: 6, class: "code", disabled: !editable, spellcheck: "false" }, JSON.stringify(rest, null, 2));
  const form = h(
    "form",
    { class: "form", novalidate: true, id: "workflow-settings" },
    editable ? null : frozenNote(onNewVersion),
    field("Title", title, { where: "title" }),
    field("Description", description, { where: "description" }),
    field("Timeout (ms)", timeoutInput, {
      where: "options.timeout",
      hint: workflow.sync ? "A synchronous caller gets 408 after this long. Empty or 0: no limit." : "Empty or 0: no limit.",
    }),
    field("Other options (JSON)", others, {
      where: "options",
      hint: "concurrency, queueLimit, dedupe, retention — see the API reference.",
    }),
  );
  const save = h("button", { type: "submit", class: "primary", form: form.id, disabled: !editable }, "Save");
  const drawer = openDrawer({ title: "Settings", content: form, actions: editable ? [save] : [] });
  onSubmit(form, save, async () => {
    let options;
    try {
      options = JSON.parse(others.value || "{}");
    } catch {
      throw { details: [{ where: "options", message: "must be JSON, e.g. {}" }] };
    }
    if (timeoutInput.value !== "") options.timeout = Number(timeoutInput.value);
    await api.patch(`/workflows/${workflow.id}`, { title: title.value, description: description.value || null, options });
    notify("Saved the settings.");
    drawer.close();
    onSaved?.();
  });
}

/** The note shown in place of editing when a version has executions. */
export function frozenNote(onNewVersion) {
  return h(
    "div",
    { class: "notice" },
    "This version has executions, so it cannot change. ",
    h("button", { type: "button", class: "link", onclick: onNewVersion }, "Create a new version"),
    " to edit a copy.",
  );
}
