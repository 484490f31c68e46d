/** The keys of a trigger's request items: the path grammar, and the one check of a key a person types. */

// The grammar of `parse_path` in hookline/expressions/templates.py, which reads every `{{ path }}` and
// every `_var` item: a name is anything but whitespace (Python's \s, spelled out because
// JavaScript's differs), path punctuation, braces, quotes, backslashes and ':'. A browser test
// holds the two in step (tests/ui/test_path_editing.py).
const SPACE = "\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const NAME = `[^${SPACE}.\\[\\]{}:'"\\\\]+`;
const QUOTED = `"(?:[^"\\\\]|\\\\[\\s\\S])*"|'(?:[^'\\\\]|\\\\[\\s\\S])*'`;
const BRACKET = `\\[(?:[0-9]+|${QUOTED})\\]`;
const PATH = new RegExp(`^(?:${NAME}|${BRACKET})(?:\\.${NAME}|${BRACKET})*$`);

// A header name is an RFC 9110 token that `{{$context.headers.<name>}}` reads as one name: so
// without the dot and the quote that a token allows.
const HEADER_NAME = /^[!#$%&*+\-^_`|~0-9A-Za-z]+$/;

/** Whether `text` is a path hookline reads: `order.items[0].sku`, `a["b c"]`, `list.0`. */
export function isReadablePath(text) {
  return PATH.test(text);
}

/**
 * The problem with `key` as the key of an item of `part` ("headers", "query" or "body"), or null.
 * `noun` names the column ("body path"); `taken` are the keys of the table's other rows. Header
 * names match in any case, so "x-id" and "X-Id" are the same row. Used for a key added by hand and
 * for a key edited in place, so both say the same.
 */
export function keyProblem(key, { part, noun, taken }) {
  if (!key) return `Type a ${noun}; it cannot be empty.`;
  const same = part === "headers" ? (other) => other.toLowerCase() === key.toLowerCase() : (other) => other === key;
  const existing = [...taken].find(same);
  if (existing !== undefined) return `${existing} is already in the table.`;
  if (part === "headers") {
    return HEADER_NAME.test(key)
      ? null
      : `${key} is not a header name variables can read: use letters, digits and !#$%&*+-^_\`|~ only (no spaces, dots or quotes).`;
  }
  return isReadablePath(key)
    ? null
    : `${key} is not a path hookline can read: join names with dots, write list items as [0] and other keys as ["a b"].`;
}
