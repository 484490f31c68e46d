/** The workflow's settings: title, description, and its options (timeout, limits, deduplication, retention). */

import { api } from "../api.js";
import { field, h } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { onSubmit } from "../submit.js";

const KNOWN = ["timeout", "concurrency", "queueLimit", "dedupe", "retention"];

/** Open the settings drawer of a workflow version. */
export function openSettings(workflow, { editable, onSaved, onNewVersion }) {
  const options = workflow.options ?? {};
  const text = (value) => h("input", { type: "text", value: value ?? "", disabled: !editable });
  const number = (value, min) => h("input", { type: "number", min, step: 1, value: value ?? "", disabled: !editable });
  const title = text(workflow.title);
  const description = h("textarea", { rows: 2, disabled: !editable }, workflow.description ?? "");
  const inputs = {
    timeout: number(options.timeout, 0),
    concurrency: number(options.concurrency, 1),
    queueLimit: number(options.queueLimit, 1),
    dedupeSource: text(options.dedupe?.source),
    dedupeWindow: number(options.dedupe?.window, 1),
    successDays: number(options.retention?.successDays, 0),
    maxAgeDays: number(options.retention?.maxAgeDays, 1),
  };
  const rest = Object.fromEntries(Object.entries(options).filter(([name]) => !KNOWN.includes(name)));
  const others = h("textarea", { rows: 3, class: "code", disabled: !editable, spellcheck: "false" }, JSON.stringify(rest));
  const form = h(
    "form",
    { class: "form", novalidate: true, id: "workflow-settings" },
    editable ? null : frozenNote(onNewVersion),
    field("Title", title, { where: "title" }),
    field("Description", description, { where: "description" }),
    h("h3", {}, "Running"),
    field("Timeout (ms)", inputs.timeout, {
      where: "options.timeout",
      hint: workflow.sync ? "A synchronous caller gets 408 after this long. Empty or 0: no limit." : "Empty or 0: no limit.",
    }),
    field("Concurrency", inputs.concurrency, {
      where: "options.concurrency",
      hint: workflow.sync
        ? "At most this many requests run at once in each process; one more gets 429. Empty: no limit."
        : "At most this many executions run at once; the others wait in the queue. Empty: no limit.",
    }),
    workflow.sync
      ? null
      : field("Queue limit", inputs.queueLimit, {
          where: "options.queueLimit",
          hint: "With this many executions waiting, a new request gets 429 and is not stored. Empty: no limit.",
        }),
    h("h3", {}, "Duplicates"),
    field("Deduplicate by", inputs.dedupeSource, {
      where: "options.dedupe.source",
      hint: "Where a request carries its id, e.g. headers.idempotency-key or body.order.id. A repeat gets the first answer. Empty: off.",
    }),
    field("Window (seconds)", inputs.dedupeWindow, { where: "options.dedupe.window", hint: "Empty: 24 hours." }),
    h("h3", {}, "Keeping executions"),
    field("Keep successful runs (days)", inputs.successDays, {
      where: "options.retention.successDays",
      hint: "0 keeps failed runs only. Empty: keep them.",
    }),
    field("Keep any run at most (days)", inputs.maxAgeDays, { where: "options.retention.maxAgeDays", hint: "Empty: no limit." }),
    field("Other options (JSON)", others, { where: "options" }),
  );
  const save = h("button", { type: "submit", class: "primary", form: form.id, disabled: !editable }, "Save");
  const drawer = openDrawer({ title: "Settings", content: form, actions: editable ? [save] : [] });
  onSubmit(form, save, async () => {
    await api.patch(`/workflows/${workflow.id}`, {
      title: title.value,
      description: description.value || null,
      options: readOptions(inputs, others),
    });
    notify("Saved the settings.");
    drawer.close();
    onSaved?.();
  });
}

/** The options object from the fields; empty fields leave their option out. */
function readOptions(inputs, others) {
  let options;
  try {
    options = JSON.parse(others.value.trim() || "{}");
  } catch {
    throw { details: [{ where: "options", message: "must be JSON, e.g. {}" }] };
  }
  const value = (input) => (input.value.trim() === "" ? undefined : Number(input.value));
  const set = (target, name, given) => {
    if (given !== undefined && given !== "") target[name] = given;
  };
  set(options, "timeout", value(inputs.timeout));
  set(options, "concurrency", value(inputs.concurrency));
  set(options, "queueLimit", value(inputs.queueLimit));
  const source = inputs.dedupeSource.value.trim();
  if (source) {
    options.dedupe = { source };
    set(options.dedupe, "window", value(inputs.dedupeWindow));
  }
  const retention = {};
  set(retention, "successDays", value(inputs.successDays));
  set(retention, "maxAgeDays", value(inputs.maxAgeDays));
  if (Object.keys(retention).length) options.retention = retention;
  return options;
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
