/** The flow canvas: the trigger card, the chain of nodes, and branches side by side in columns. */

import { h } from "../dom.js";
import { moveFocus } from "../menu-keys.js";
import { PRESETS } from "./signature-fields.js";

const LABELS = {
  condition: "Condition",
  "multi-conditions": "Multi-conditions",
  response: "Response",
  end: "End",
  "json-query": "JSON query",
  request: "HTTP request",
};

/** The name people see for a node type ("multi-conditions" → "Multi-conditions"). */
export function typeLabel(type) {
  return LABELS[type] ?? type.replace(/(^|-)(\w)/g, (_, dash, c) => (dash ? " " : "") + c.toUpperCase());
}

/** The branches a node shows, in display order: [{index, label}]. Unknown types show the branches they have. */
export function branchesOf(node, nodes = []) {
  if (node.type === "condition") {
    if (node.config?.rejectOnFalse) return [];
    return [
      { index: 1, label: "Yes" },
      { index: 0, label: "No" },
    ];
  }
  if (node.type === "multi-conditions") {
    const conditions = node.config?.conditions ?? [];
    return [
      ...conditions.map((condition, i) => ({ index: i + 1, label: condition.title || `Condition ${i + 1}` })),
      { index: 0, label: "Otherwise" },
    ];
  }
  if (node.type === "loop") return [{ index: 0, label: "Each item" }];
  const indices = [...new Set(nodes.filter((n) => n.upstream_id === node.id && n.branch_index !== null).map((n) => n.branch_index))];
  if (node.type === "parallel") {
    // Branches 0..n-1; an empty one exists only on screen (the server knows branches by their nodes).
    const count = Math.max(MIN_PARALLEL_BRANCHES, shownBranches.get(node.id) ?? 0, ...indices.map((i) => i + 1));
    return Array.from({ length: count }, (_, index) => ({ index, label: `Branch ${index + 1}` }));
  }
  return indices.sort((a, b) => a - b).map((index) => ({ index, label: `Branch ${index}` }));
}

const MIN_PARALLEL_BRANCHES = 2;
// The branch count a person asked for with "Add a branch", per parallel node id, kept across redraws.
const shownBranches = new Map();
// Node types whose branches are peers rather than Yes/No outcomes: their labels are not coloured.
const FORKS = new Set(["loop", "parallel"]);

/**
 * Draw a workflow version. Hooks (all optional):
 * - editable: show "+" buttons and node menus with Delete;
 * - onTrigger(), onEdit(node), onAdd(place, button), onDelete(node), onCopyKey(node);
 * - decorate(node) and decorateTrigger(): extra content for a card (job status, results);
 * - terminal(node): whether nothing may follow this node (its type, and for some types its config).
 */
export function drawFlow(workflow, hooks = {}) {
  const nodes = workflow.nodes ?? [];
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const head = nodes.find((node) => node.upstream_id === null);
  const canvas = h("div", { class: "canvas", role: "region", "aria-label": "Flow" });
  canvas.append(
    h(
      "ol",
      { class: "chain root" },
      h("li", { class: "step" }, triggerCard(workflow, hooks)),
      addButton({ upstream_id: null, branch_index: null }, "at the start", hooks),
      chainItems(head, byId, nodes, hooks),
      h("li", { class: "step end-mark", "aria-hidden": "true" }, "End"),
    ),
  );
  // On a narrow window the flow is wider than the screen: start with its middle (the main chain) in view.
  requestAnimationFrame(() => {
    canvas.scrollLeft = (canvas.scrollWidth - canvas.clientWidth) / 2;
  });
  return canvas;
}

function chainItems(first, byId, nodes, hooks) {
  const items = [];
  for (let node = first; node; node = node.downstream_id ? byId.get(node.downstream_id) : null) {
    items.push(h("li", { class: "step" }, nodeCard(node, hooks)));
    const branches = branchesOf(node, nodes);
    if (branches.length) items.push(h("li", { class: "step branches" }, branchColumns(node, branches, nodes, byId, hooks)));
    if (!hooks.terminal?.(node)) {
      items.push(addButton({ upstream_id: node.id, branch_index: null }, `after ${node.title || node.key}`, hooks));
    }
  }
  return items;
}

function branchColumns(node, branches, nodes, byId, hooks) {
  const column = ({ index, label }) => {
    const branchHead = nodes.find((n) => n.upstream_id === node.id && n.branch_index === index);
    const where = `${label} branch of ${node.title || node.key}`;
    return h(
      "ol",
      { class: "chain column", "aria-label": where, "data-branch": index },
      h("li", { class: "branch-label" }, label),
      addButton({ upstream_id: node.id, branch_index: index }, `at the start of the ${where}`, hooks),
      chainItems(branchHead, byId, nodes, hooks),
    );
  };
  const columns = h("div", { class: `columns${FORKS.has(node.type) ? " fork" : ""}` }, branches.map(column));
  if (node.type === "parallel" && hooks.editable) columns.append(addBranchButton(node, columns, column));
  return columns;
}

/** "Add a branch" beside a parallel node's columns: one more empty column, whose "+" gets the focus. */
function addBranchButton(node, columns, column) {
  const button = h(
    "button",
    { type: "button", class: "add-branch", "aria-label": `Add a branch to ${node.title || node.key}` },
    "Add a branch",
  );
  button.addEventListener("click", () => {
    const index = columns.querySelectorAll(":scope > .column").length;
    shownBranches.set(node.id, index + 1);
    const added = column({ index, label: `Branch ${index + 1}` });
    button.parentElement.before(added);
    added.querySelector("button.add")?.focus();
  });
  return h("div", { class: "add-branch-slot" }, button);
}

function addButton(place, where, hooks) {
  if (!hooks.editable) return h("li", { class: "step link-only", "aria-hidden": "true" });
  const button = h("button", { type: "button", class: "add", "aria-label": `Add a node ${where}`, title: "Add a node" }, "+");
  button.addEventListener("click", () => hooks.onAdd?.(place, button));
  return h("li", { class: "step add-slot" }, button);
}

function triggerCard(workflow, hooks) {
  const auth = securitySummary(workflow.config ?? {});
  return h(
    "div",
    { class: "node trigger", "data-node": "trigger" },
    h(
      "button",
      { type: "button", class: "node-main", onclick: () => hooks.onTrigger?.() },
      h("span", { class: "node-type" }, "Trigger"),
      h("span", { class: "node-title" }, "Webhook event"),
      h("span", { class: "node-meta" }, `POST · ${workflow.sync ? "synchronous" : "asynchronous"} · ${auth}`),
    ),
    hooks.decorateTrigger?.() ?? null,
  );
}

/** The checks a trigger makes, in a few words: "Basic auth · Stripe signature", or "No authentication". */
function securitySummary(config) {
  const checks = [
    config.basicAuthentication ? "Basic auth" : null,
    config.signature ? `${PRESETS[config.signature.preset]?.label ?? config.signature.preset} signature` : null,
    config.apiKey ? "API key" : null,
    Array.isArray(config.allowFrom) ? "IP allow-list" : null,
  ].filter(Boolean);
  return checks.length ? checks.join(" · ") : "No authentication";
}

function nodeCard(node, hooks) {
  const title = node.title || typeLabel(node.type);
  const menu = nodeMenu(node, hooks);
  return h(
    "div",
    { class: `node type-${node.type}`, "data-node": node.key },
    h(
      "button",
      { type: "button", class: "node-main", onclick: () => hooks.onEdit?.(node), "aria-label": `${title} (${typeLabel(node.type)})` },
      h("span", { class: "node-type" }, typeLabel(node.type)),
      h("span", { class: "node-title" }, title),
      h("span", { class: "node-meta" }, h("code", {}, node.key), nodeNote(node)),
    ),
    menu,
    hooks.decorate?.(node) ?? null,
  );
}

/** A few words after the key for a node whose config matters on the map: a response that goes on, the workflow a subflow calls. */
function nodeNote(node) {
  if (node.type === "response" && node.config?.continue === true) return " · answers, then goes on";
  if (node.type === "subflow" && typeof node.config?.workflow === "string") return ` · calls ${node.config.workflow}`;
  return null;
}

function nodeMenu(node, hooks) {
  const toggleButton = h(
    "button",
    { type: "button", class: "icon menu-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Menu of ${node.title || node.key}` },
    "⋯",
  );
  const item = (label, action) =>
    h("button", { type: "button", role: "menuitem", onclick: () => (close(), action(node)) }, label);
  const list = h(
    "div",
    { class: "menu", role: "menu", hidden: true },
    item(hooks.editable ? "Edit" : "View", (n) => hooks.onEdit?.(n)),
    item("Copy key", (n) => hooks.onCopyKey?.(n)),
    hooks.editable ? item("Delete", (n) => hooks.onDelete?.(n)) : null,
  );
  const wrapper = h("div", { class: "menu-wrap" }, toggleButton, list);
  function close() {
    list.hidden = true;
    toggleButton.setAttribute("aria-expanded", "false");
  }
  toggleButton.addEventListener("click", () => {
    const opening = list.hidden;
    list.hidden = !opening;
    toggleButton.setAttribute("aria-expanded", String(opening));
    if (opening) list.querySelector("button")?.focus();
  });
  wrapper.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !list.hidden) {
      event.stopPropagation();
      close();
      toggleButton.focus();
    }
    moveFocus(event, [...list.querySelectorAll("button")]);
  });
  wrapper.addEventListener("focusout", (event) => {
    if (!wrapper.contains(event.relatedTarget)) close();
  });
  return wrapper;
}
