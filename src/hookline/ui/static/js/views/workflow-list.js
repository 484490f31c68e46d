/** The workflows list: search, mode, enabled switch, current version, executions of the last 24 h. */

import { ApiError, api, qs } from "../api.js";
import { field, h, replace, toggle } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { navigate } from "../router.js";
import { onSubmit } from "../submit.js";
import { modeBadge, versionNumber } from "./page-parts.js";

const PAGE = 50;

/** The list of workflows (their current versions). */
export async function workflowListView(root, _params, context) {
  const search = h("input", { type: "search", placeholder: "Search by title or key", "aria-label": "Search workflows" });
  search.value = context.query.get("q") ?? "";
  const table = h("div", { class: "table-wrap" });
  const more = h("div", { class: "pager" });
  replace(
    root,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Workflows"),
      h("button", { type: "button", class: "primary", onclick: () => createWorkflow() }, "New workflow"),
    ),
    h("div", { class: "toolbar" }, search),
    table,
    more,
  );
  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(0), 250);
  });
  await load(0);

  async function load(offset) {
    const query = search.value.trim();
    const [page, stats] = await Promise.all([
      api.get(`/workflows${qs({ q: query, limit: PAGE, offset })}`),
      api.get("/stats/executions"),
    ]);
    const versions = await Promise.all(page.items.map((w) => api.get(`/workflows/${w.id}/versions`)));
    if (!context.isCurrent()) return;
    const byKey = Object.fromEntries(stats.workflows.map((s) => [s.key, s]));
    if (!page.items.length && offset === 0) {
      replace(
        table,
        h(
          "p",
          { class: "empty" },
          query ? "No workflow matches this search." : "No workflows yet. Create one to get a webhook URL.",
        ),
      );
    } else {
      const rows = page.items.map((workflow, i) => row(workflow, versions[i].items, byKey[workflow.key]));
      const body = offset === 0 ? h("tbody") : table.querySelector("tbody");
      body.append(...rows);
      if (offset === 0) {
        replace(
          table,
          h(
            "table",
            { class: "list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Title", "Key", "Mode", "Enabled", "Version", "Last 24 h"].map((t) => h("th", { scope: "col" }, t)),
              ),
            ),
            body,
          ),
        );
      }
    }
    replace(
      more,
      page.next_offset === null
        ? null
        : h("button", { type: "button", onclick: () => load(page.next_offset) }, "Show more"),
    );
  }
}

function row(workflow, versions, stats) {
  const number = versionNumber(versions, workflow.id);
  const enabled = toggle(`Enabled`, workflow.enabled, {
    onchange: async (event) => {
      const input = event.target;
      input.disabled = true;
      try {
        await api.post(`/workflows/${workflow.id}/${input.checked ? "enable" : "disable"}`);
        notify(`${workflow.title} is ${input.checked ? "enabled" : "disabled"}.`);
      } catch (error) {
        input.checked = !input.checked;
        notify(enableMessage(error), "error");
      } finally {
        input.disabled = false;
      }
    },
  });
  enabled.element.querySelector("label").classList.add("visually-hidden");
  enabled.input.setAttribute("aria-label", `Enable ${workflow.title}`);
  const recent = stats
    ? h(
        "span",
        {},
        `${stats.total} run${stats.total === 1 ? "" : "s"}`,
        stats.failed ? h("span", { class: "badge failed" }, `${stats.failed} failed`) : null,
      )
    : h("span", { class: "muted" }, "none");
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/workflows/${workflow.id}` }, workflow.title)),
    h("td", {}, h("code", {}, workflow.key)),
    h("td", {}, modeBadge(workflow)),
    h("td", {}, enabled.element),
    h("td", {}, `v${number} of ${versions.length}`),
    h("td", {}, h("a", { href: `#/workflows/${workflow.id}/executions`, class: "plain" }, recent)),
  );
}

/** What to tell a person when enabling fails: the first problem is usually the useful part. */
export function enableMessage(error) {
  if (error instanceof ApiError && error.details?.length) {
    return `Cannot enable: ${error.details[0].message} (${error.details[0].where}).`;
  }
  return error.message;
}

/** The "New workflow" drawer: a title and the mode, which cannot change later. */
function createWorkflow() {
  const title = h("input", { type: "text", name: "title", required: true });
  const mode = (value, label, hint, checked) =>
    h(
      "label",
      { class: "choice" },
      h("input", { type: "radio", name: "mode", value, checked }),
      h("span", {}, h("strong", {}, label), h("span", { class: "hint" }, hint)),
    );
  const form = h(
    "form",
    { class: "form", novalidate: true },
    field("Title", title, { where: "title" }),
    h(
      "fieldset",
      { class: "field", "data-where": "sync" },
      h("legend", {}, "Mode (cannot be changed later)"),
      mode("sync", "Synchronous", "The caller waits; a Response node answers it.", true),
      mode("async", "Asynchronous", "The caller gets an answer at once; the workflow runs in the background."),
    ),
  );
  const save = h("button", { type: "submit", class: "primary" }, "Create");
  save.setAttribute("form", (form.id = "new-workflow"));
  const drawer = openDrawer({ title: "New workflow", content: form, actions: [save] });
  onSubmit(form, save, async () => {
    const sync = form.elements.mode.value === "sync";
    const created = await api.post("/workflows", { title: title.value, sync });
    drawer.close();
    navigate(`/workflows/${created.id}`);
  });
}
