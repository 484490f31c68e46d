/** The workflow page: its header and switches, the version bar, and the flow canvas that edits it. */

import { api } from "../api.js";
import { copyText, h, replace, toggle } from "../dom.js";
import { moveFocus } from "../menu-keys.js";
import { notify } from "../notify.js";
import { drawFlow, typeLabel } from "./canvas.js";
import { openNodeDrawer } from "./node-drawer.js";
import { openSettings } from "./workflow-settings.js";
import { openTestRequest } from "./test-request.js";
import { openTriggerDrawer } from "./trigger-drawer.js";
import { enableMessage } from "./workflow-list.js";
import { createVersion, openVersions } from "./versions.js";
import { crumbs, modeBadge, versionNumber } from "./page-parts.js";

/** One workflow version, editable unless it has executions. */
export async function workflowView(root, { id }, context) {
  const [workflow, versions, nodeTypes] = await Promise.all([
    api.get(`/workflows/${id}`),
    api.get(`/workflows/${id}/versions`),
    api.get("/node-types"),
  ]);
  if (!context.isCurrent()) return;
  // After each change the page is drawn again from the API. Until then it says it is busy, so
  // that nobody (a screen reader, a test) takes the page about to be replaced for the new one.
  const reload = async () => {
    root.setAttribute("aria-busy", "true");
    try {
      await workflowView(root, { id }, context);
    } finally {
      root.setAttribute("aria-busy", "false");
    }
  };
  const frozen = workflow.executions > 0;
  const number = versionNumber(versions.items, workflow.id);
  const terminal = new Set(nodeTypes.filter((t) => t.terminal).map((t) => t.type));
  const allowed = nodeTypes.filter((t) => !(t.sync_only && !workflow.sync) && !(t.async_only && workflow.sync));

  const enabled = toggle("Enabled", workflow.enabled, {
    onchange: async (event) => {
      const input = event.target;
      input.disabled = true;
      try {
        await api.post(`/workflows/${workflow.id}/${input.checked ? "enable" : "disable"}`);
        notify(input.checked ? "Enabled: the webhook URL runs this version." : "Disabled: the webhook URL answers 404.");
        reload();
      } catch (error) {
        input.checked = !input.checked;
        notify(enableMessage(error), "error");
        input.disabled = false;
      }
    },
  });

  const drawers = {
    editable: !frozen,
    onNewVersion: () => createVersion(workflow),
    onSaved: reload,
  };
  const canvas = drawFlow(workflow, {
    editable: !frozen,
    terminal: (node) => endsFlow(node, terminal),
    onTrigger: () => openTriggerDrawer(workflow, drawers),
    onEdit: (node) => openNodeDrawer({ workflow, node, ...drawers }),
    onAdd: (place, button) => chooseType(button, place, workflow, allowed, terminal, drawers),
    onDelete: (node) => deleteNode(workflow, node, reload),
    onCopyKey: async (node) => notify((await copyText(node.key)) ? `Copied the key ${node.key}.` : "Could not copy."),
  });

  replace(
    root,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        crumbs(),
        h("h1", {}, workflow.title),
        h(
          "p",
          { class: "meta" },
          modeBadge(workflow),
          " Key ",
          h("code", {}, workflow.key),
        ),
      ),
      h(
        "div",
        { class: "actions" },
        enabled.element,
        h("button", { type: "button", onclick: () => openTestRequest(workflow) }, "Send a test request"),
        h("a", { class: "button", href: `#/workflows/${workflow.id}/executions` }, "Executions"),
        h("button", { type: "button", onclick: () => openVersions(workflow, versions.items) }, "Versions"),
        h("button", { type: "button", onclick: () => openSettings(workflow, drawers) }, "Settings"),
        h("button", { type: "button", onclick: () => exportJson(workflow) }, "Export"),
      ),
    ),
    h(
      "div",
      { class: `version-bar${frozen ? " frozen" : ""}` },
      h(
        "span",
        {},
        `Version ${number} of ${versions.items.length}`,
        workflow.current ? h("span", { class: "badge current" }, "current") : null,
        workflow.enabled ? h("span", { class: "badge enabled" }, "enabled") : h("span", { class: "badge" }, "disabled"),
      ),
      frozen
        ? h(
            "span",
            { class: "frozen-note" },
            `This version has run ${workflow.executions} time${workflow.executions === 1 ? "" : "s"}, so it cannot change. `,
            h("button", { type: "button", class: "primary", onclick: () => createVersion(workflow) }, "Create a new version"),
          )
        : null,
    ),
    canvas,
  );
}

/** Whether nothing may follow `node`: its type ends the flow, unless it is a response that continues (as the server's ends_flow). */
function endsFlow(node, terminal) {
  return terminal.has(node.type) && !(node.type === "response" && node.config?.continue === true);
}

/** The "+" menu: the node types this workflow may use at this place; picking one opens its drawer. */
function chooseType(button, place, workflow, allowed, terminal, drawers) {
  document.querySelector(".type-menu")?.remove();
  const nodes = workflow.nodes;
  const occupied =
    place.upstream_id === null
      ? nodes.some((n) => n.upstream_id === null)
      : place.branch_index === null
        ? Boolean(nodes.find((n) => n.id === place.upstream_id)?.downstream_id)
        : nodes.some((n) => n.upstream_id === place.upstream_id && n.branch_index === place.branch_index);
  // A terminal node ends the flow, so it only fits where nothing follows.
  const types = allowed.filter((t) => !(occupied && terminal.has(t.type)));
  const menu = h(
    "div",
    { class: "menu type-menu", role: "menu", "aria-label": "Node types" },
    types.map((t) =>
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          onclick: () => {
            menu.remove();
            openNodeDrawer({ workflow, node: null, type: t.type, place, ...drawers });
          },
        },
        typeLabel(t.type),
      ),
    ),
  );
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      menu.remove();
      button.focus();
    } else {
      moveFocus(event, [...menu.querySelectorAll("button")]);
    }
  });
  menu.addEventListener("focusout", (event) => {
    // Later: removing the menu (a pick, Escape) moves focus out too, and Chrome then reports it inside remove().
    if (!menu.contains(event.relatedTarget)) queueMicrotask(() => menu.remove());
  });
  button.after(menu);
  menu.querySelector("button")?.focus();
}

async function deleteNode(workflow, node, reload) {
  const name = node.title || typeLabel(node.type);
  const branching = node.type.includes("condition") || ["loop", "parallel"].includes(node.type);
  if (!window.confirm(`Delete “${name}”${branching ? " and everything in its branches" : ""}?`)) {
    return;
  }
  try {
    await api.del(`/workflows/${workflow.id}/nodes/${node.id}`);
    notify(`Deleted ${name}.`);
    reload();
  } catch (error) {
    notify(error.message, "error");
  }
}

async function exportJson(workflow) {
  const data = await api.get(`/workflows/${workflow.id}/export`);
  const link = h("a", {
    href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })),
    download: `${workflow.key}.json`,
  });
  document.body.append(link);
  link.click();
  link.remove();
}
