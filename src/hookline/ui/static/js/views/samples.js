/** What this browser remembers of a workflow key's trigger: the samples parsed last, and the paths renamed since. */

// Both are conveniences kept in localStorage, never needed: storage may be full or switched off.

/** The sample query and body last parsed for a workflow key ({query, body}). */
export function readSamples(key) {
  return read(`hookline.samples.${key}`);
}

/** Remember one sample ("query" or "body") of a workflow key, so the test-request form can start from it. */
export function rememberSample(key, part, text) {
  write(`hookline.samples.${key}`, { ...readSamples(key), [part]: text });
}

/** The paths renamed in the saved trigger of a workflow key: {query: {old: new}, body: {old: new}}. */
export function readRenames(key) {
  return read(`hookline.renamed.${key}`);
}

/** Remember the renames of a saved trigger, so that parsing a sample later skips the old paths. */
export function rememberRenames(key, renames) {
  write(`hookline.renamed.${key}`, renames);
}

function read(name) {
  try {
    const value = JSON.parse(localStorage.getItem(name) ?? "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function write(name, value) {
  try {
    localStorage.setItem(name, JSON.stringify(value));
  } catch {
    // Not remembered: the next parse simply shows every path of the sample again.
  }
}
