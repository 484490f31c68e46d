/** What a job's meta says about how it ran: its loop item, its attempts, and what a pending job waits for. */

import { h, when } from "../dom.js";

/**
 * The notes of a job, as elements for a line of text: "item 3" (its loop item, outer loops first),
 * "3 attempts", "waiting until <time> (retry)". The same notes as `hookline execution show`.
 */
export function jobNotes(job) {
  const meta = job.meta ?? {};
  const notes = [];
  const items = loopItems(meta.iteration);
  if (items.length) {
    notes.push(h("span", { class: "job-tag", title: `Loop frame ${meta.iteration}` }, items.map((n) => `item ${n}`).join(" › ")));
  }
  const attempts = attemptCount(meta);
  if (attempts > 1) notes.push(h("span", { class: "job-tag" }, `${attempts} attempts`));
  if (typeof meta.waitingUntil === "string") notes.push(waitingNote(meta.waitingUntil, meta.waitReason));
  return notes;
}

/**
 * "waiting until <time> (delay)", the time readable by machines too. A wait for an event (a
 * subflow's child to end) ends when the event comes: its time is only when the node looks again.
 */
export function waitingNote(until, reason) {
  const time = h("time", { datetime: until }, when(until));
  if (reason === "event") {
    return h("span", { class: "job-tag waiting-note" }, "waiting for another execution to end (next check ", time, ")");
  }
  return h("span", { class: "job-tag waiting-note" }, "waiting until ", time, ` (${reason ?? "retry"})`);
}

/** The attempts a job took: the engine's count, or the request node's own list when that is longer. */
export function attemptCount(meta) {
  const counted = Number.isInteger(meta.attempt) ? meta.attempt : 1;
  const listed = Array.isArray(meta.attempts) ? meta.attempts.length : 0;
  return Math.max(counted, listed);
}

/** Each attempt of a request as people read it: "503", "200", or the error. */
export function attemptList(meta) {
  if (!Array.isArray(meta?.attempts) || meta.attempts.length === 0) return null;
  return h(
    "ol",
    { class: "attempts" },
    meta.attempts.map((attempt) =>
      h("li", {}, attempt?.status !== undefined ? `answered ${attempt.status}` : `failed: ${attempt?.error ?? "unknown error"}`),
    ),
  );
}

/** `loop#2/inner#0/` as [3, 1]: the item of each enclosing loop, counted from 1 as people count. */
function loopItems(frame) {
  if (typeof frame !== "string" || !frame) return [];
  return frame
    .split("/")
    .filter(Boolean)
    .map((part) => part.slice(part.lastIndexOf("#") + 1))
    .filter((index) => /^\d+$/.test(index))
    .map((index) => Number(index) + 1);
}
