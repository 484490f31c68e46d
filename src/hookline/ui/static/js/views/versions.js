/** Versions of a workflow: the list (which is current, which is enabled), switching, and making a new one. */

import { api } from "../api.js";
import { h, when } from "../dom.js";
import { openDrawer } from "../drawer.js";
import { notify } from "../notify.js";
import { navigate } from "../router.js";
import { enableMessage } from "./workflow-list.js";

/** Copy a version into a new, disabled, editable one and open it. */
export async function createVersion(workflow) {
  try {
    const created = await api.post(`/workflows/${workflow.id}/versions`);
    notify("Created a new version. Edit it, then enable it to make it current.");
    navigate(`/workflows/${created.id}`);
  } catch (error) {
    notify(error.message, "error");
  }
}

/** The drawer listing every version, oldest first. */
export function openVersions(workflow, versions) {
  const rows = versions.map((version, i) => {
    const shown = version.id === workflow.id;
    return h(
      "li",
      { class: `version${shown ? " shown" : ""}`, "data-version": i + 1 },
      h(
        "div",
        {},
        h("strong", {}, `Version ${i + 1}`),
        version.current ? h("span", { class: "badge current" }, "current") : null,
        version.enabled ? h("span", { class: "badge enabled" }, "enabled") : null,
        shown ? h("span", { class: "badge" }, "shown") : null,
        h("p", { class: "hint" }, `Created ${when(version.created_at)}`),
      ),
      h(
        "div",
        { class: "actions" },
        shown ? null : h("a", { class: "button", href: `#/workflows/${version.id}` }, "Open"),
        version.enabled
          ? null
          : h("button", { type: "button", onclick: () => enable(version) }, "Enable"),
      ),
    );
  });
  const drawer = openDrawer({
    title: "Versions",
    content: [
      h("p", { class: "hint" }, "Enabling a version makes it current: the webhook URL runs it, and the others are disabled."),
      h("ol", { class: "versions" }, rows),
    ],
    actions: [h("button", { type: "button", onclick: () => createVersion(workflow) }, "Create a new version")],
  });

  async function enable(version) {
    try {
      await api.post(`/workflows/${version.id}/enable`);
      notify("Enabled: this version is now current.");
      drawer.close();
      navigate(`/workflows/${version.id}`);
    } catch (error) {
      notify(enableMessage(error), "error");
    }
  }
}
