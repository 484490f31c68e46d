/** The variables a node's config may use: the trigger's configured items and the upstream nodes' results. */

const PARTS = [
  { part: "headers", noun: "header" },
  { part: "query", noun: "query" },
  { part: "body", noun: "body" },
];

/**
 * The variable groups offered at a node (or, for a new node, at `place`):
 * [{label, items: [{label, detail, text}]}], the trigger first, then each upstream node from the head.
 */
export function variablesAt(workflow, node, place) {
  const groups = [{ label: "Trigger", items: triggerItems(workflow.config ?? {}) }];
  for (const upstream of upstreamNodes(workflow.nodes ?? [], node ? node.upstream_id : place?.upstream_id)) {
    groups.push({
      label: upstream.title || upstream.key,
      items: [{ label: "Result", detail: upstream.key, text: `{{$jobsMapByNodeKey.${upstream.key}}}` }],
    });
  }
  return groups;
}

/** The nodes on the path from the head down to the node `id` (included), branching ancestors among them. */
export function upstreamNodes(nodes, id) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const path = [];
  const seen = new Set();
  // A branch head's upstream is its branching node, a chain node's is the one before it: both ran first.
  while (id && !seen.has(id) && byId.has(id)) {
    seen.add(id);
    const found = byId.get(id);
    path.unshift(found);
    id = found.upstream_id;
  }
  return path;
}

/** The configured request items as variables, labelled by alias (or key). */
function triggerItems(config) {
  const items = [];
  for (const { part, noun } of PARTS) {
    const configured = config.request?.[part];
    if (!Array.isArray(configured)) continue;
    for (const item of configured) {
      if (typeof item?.key !== "string" || !item.key) continue;
      items.push({ label: item.alias || item.key, detail: `${noun} ${item.key}`, text: `{{${contextPath(part, item.key)}}}` });
    }
  }
  return items;
}

/**
 * The template path of a configured item: header names lower-cased (the context keeps them so), and
 * list indices written with dots (`query[0].a` → `query.0.a`), the form NocoBase can read back too.
 */
export function contextPath(part, key) {
  if (part === "headers") return `$context.headers.${key.toLowerCase()}`;
  const dotted = key.replace(/\["(?:[^"\\]|\\.)*"\]|\['(?:[^'\\]|\\.)*'\]|\[([0-9]+)\]/g, (whole, index) =>
    index === undefined ? whole : `.${index}`,
  );
  const joiner = dotted.startsWith(".") || dotted.startsWith("[") ? "" : ".";
  return `$context.${part}${joiner}${dotted}`;
}
