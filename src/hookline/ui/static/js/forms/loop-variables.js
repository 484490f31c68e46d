/** The variables of the loops around a node: each enclosing loop's item, index, sequence and length. */

import { upstreamNodes } from "./variables.js";

const PARTS = [
  ["item", "Item", "the current item"],
  ["index", "Index", "from 0"],
  ["sequence", "Sequence", "from 1"],
  ["length", "Length", "items in all"],
];

/**
 * One group per loop whose branch holds the node (or, for a new node, the place
 * {upstream_id, branch_index}), innermost last, and a loop node's own: [{label, items: [{label, detail, text}]}].
 */
export function loopVariables(workflow, node, place) {
  const nodes = workflow.nodes ?? [];
  const path = upstreamNodes(nodes, node ? node.upstream_id : place?.upstream_id);
  // Each node of the path with the step below it; the last one's step is the node (or place) itself.
  const below = [...path.slice(1), node ?? { upstream_id: place?.upstream_id, branch_index: place?.branch_index }];
  const loops = path.filter((up, i) => up.type === "loop" && below[i].upstream_id === up.id && below[i].branch_index === 0);
  // A loop's own condition is checked at each item, so it reads its own scope too.
  if (node?.type === "loop") loops.push(node);
  return loops.map((loop) => ({
      label: `Loop ${loop.title || loop.key}`,
      items: PARTS.map(([part, label, detail]) => ({ label, detail, text: `{{$scopes.${loop.key}.${part}}}` })),
    }));
}
