/** The request node's retry policy as a switch and its fields: attempts, back-off, longest wait, which failures. */

import { field, h, switchedFields, toggle } from "../dom.js";
import { numberInput, numberValue, setOrDrop } from "./choices.js";
import { FormProblem } from "./json-form.js";

const DEFAULT_ON_STATUS = [408, 429, 500, 502, 503, 504];
const FIRST_ATTEMPTS = 3; // switching retries on with the server's default (1 attempt) would change nothing

/**
 * The "Retry failed attempts" switch with its fields, from a `retry` config (or none).
 * Gives {element, read() → retry object, or undefined when off}.
 */
export function retryFields(retry, ctx) {
  const given = retry && typeof retry === "object" ? retry : null;
  const attempts = numberInput(given?.attempts ?? FIRST_ATTEMPTS, { min: 1, max: 20 });
  const backoff = numberInput(given?.backoff, { min: 0, max: 3600000, placeholder: "1000" });
  const maxDelay = numberInput(given?.maxDelay, { min: 0, max: 86400000, placeholder: "30000" });
  const onStatus = h("input", {
    type: "text",
    value: Array.isArray(given?.onStatus) ? given.onStatus.join(", ") : "",
    placeholder: DEFAULT_ON_STATUS.join(", "),
    spellcheck: "false",
  });
  const onNetwork = toggle("Also after a network error or a timeout", given?.onNetworkError !== false, {
    where: "config.retry.onNetworkError",
  });
  const fields = h(
    "div",
    { class: "switched" },
    field("Attempts", attempts, { where: "config.retry.attempts", hint: "In all, the first included: 1 to 20." }),
    h(
      "div",
      { class: "field-row" },
      field("Back-off (ms)", backoff, { where: "config.retry.backoff", hint: "1000 when empty; doubles each attempt." }),
      field("Longest wait (ms)", maxDelay, { where: "config.retry.maxDelay", hint: "30000 when empty." }),
    ),
    field("Retry on statuses", onStatus, {
      where: "config.retry.onStatus",
      hint: "Status codes separated by commas; empty: 408, 429, 500, 502, 503, 504.",
    }),
    onNetwork.element,
  );
  const { element, input } = switchedFields("Retry failed attempts", given !== null, {
    fields,
    where: "config.retry",
    editable: !ctx.disabled,
    focus: attempts,
    hint: "Waits grow with random jitter, or follow the receiver's Retry-After. In an asynchronous workflow the execution waits without holding a worker.",
  });
  return {
    element,
    read() {
      if (!input.checked) return undefined;
      const read = { ...given };
      setOrDrop(read, "attempts", numberValue(attempts));
      setOrDrop(read, "backoff", numberValue(backoff));
      setOrDrop(read, "maxDelay", numberValue(maxDelay));
      setOrDrop(read, "onStatus", statusList(onStatus.value));
      read.onNetworkError = onNetwork.input.checked;
      return read;
    },
  };
}

/** "503, 429" as [503, 429]; empty as undefined (the server's list); anything else is a FormProblem. */
function statusList(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return undefined;
  const bad = parts.find((part) => !/^[1-5][0-9][0-9]$/.test(part));
  if (bad !== undefined) throw new FormProblem("config.retry.onStatus", `“${bad}” is not an HTTP status code (100 to 599)`);
  return parts.map(Number);
}
