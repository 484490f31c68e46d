/** The subflow node's form: which workflow to call, the trigger context it gets, and whether to wait for it. */

import { api, qs } from "../api.js";
import { field, h, replace, toggle, uid } from "../dom.js";
import { FormProblem, jsonField, parseJson } from "./json-form.js";

const PAGE = 200; // the API's largest page of workflows
const OWN = ["workflow", "context", "wait"];

/** A new subflow: no workflow chosen yet, a context with an empty body, waiting for the child (the server's default). */
export function defaultConfig() {
  return { workflow: "", context: { body: {} } };
}

/** The form; read() gives the config, keeping fields it does not show (it throws a FormProblem for a missing workflow or bad JSON). */
export function form(config, ctx) {
  const chosen = typeof config.workflow === "string" ? config.workflow : "";
  const select = h("select", {}, h("option", { value: chosen, selected: true }, chosen || "Loading the workflows…"));
  const list = field("Workflow to call", select, {
    where: "config.workflow",
    hint: "By key: each call runs the enabled version of that workflow (with none enabled, this node fails). A workflow may call itself; calls nest at most 8 deep.",
  });
  fillWorkflows(select, chosen, ctx.workflow?.key, list);
  const context = jsonField("Context (JSON)", config.context ?? { body: {} }, ctx, {
    where: "config.context",
    hint: 'The called workflow\'s trigger context, as its webhook would give it: {"body": …, "query": …, "headers": …}. Strings may hold {{ variables }}; a string that is one variable keeps its type.',
    rows: 8,
  });
  const wait = waitSwitch(config);
  const element = h("div", { class: "node-config", "data-where": "config" }, list, context.element, wait.element);
  return {
    element,
    read() {
      const read = Object.fromEntries(Object.entries(config).filter(([key]) => !OWN.includes(key)));
      if (!select.value) throw new FormProblem("config.workflow", "is required: choose the workflow to call");
      read.workflow = select.value;
      if (context.area.value.trim() !== "") read.context = parseJson(context.area.value, "config.context");
      // Waiting is the server's default: a config that never said `wait` keeps not saying it.
      if (!wait.input.checked || "wait" in config) read.wait = wait.input.checked;
      return read;
    },
  };
}

/** The `wait` switch with its hint: what the node's result holds either way. */
function waitSwitch(config) {
  const { element, input } = toggle("Wait for the called workflow to finish", config.wait !== false, { where: "config.wait" });
  const hint = h(
    "p",
    { class: "hint switch-hint", id: uid("hint") },
    "On: goes on once the called workflow has ended (a synchronous one runs at once; for an asynchronous one this workflow waits, holding no worker), and fails when it did not resolve. Off: the called workflow is queued and this one goes on at once.",
  );
  input.setAttribute("aria-describedby", hint.id);
  return { element: h("div", {}, element, hint), input };
}

/**
 * Replace the select's options with every workflow ("Title (key)"), keeping `chosen` selected; a
 * chosen key no workflow has any more stays, marked "not found", so saving shows the server's word on it.
 */
async function fillWorkflows(select, chosen, ownKey, container) {
  let workflows;
  try {
    workflows = await allWorkflows();
  } catch (error) {
    if (select.value === "") select.options[0].textContent = "No workflow list";
    container.append(h("p", { class: "hint", role: "status" }, `Could not load the workflows: ${error.message}`));
    return;
  }
  const options = workflows.map((w) => [w.key, `${w.title} (${w.key})${w.key === ownKey ? " · this workflow" : ""}`]);
  if (chosen && !options.some(([key]) => key === chosen)) options.push([chosen, `${chosen} (not found)`]);
  replace(
    select,
    h("option", { value: "", selected: !chosen }, workflows.length ? "Choose a workflow" : "No workflows yet"),
    options.map(([key, label]) => h("option", { value: key, selected: key === chosen }, label)),
  );
}

/** The current version of every workflow, page after page. */
async function allWorkflows() {
  const found = [];
  for (let offset = 0; offset !== null; ) {
    const page = await api.get(`/workflows${qs({ limit: PAGE, offset })}`);
    found.push(...page.items);
    offset = page.next_offset;
  }
  return found;
}
