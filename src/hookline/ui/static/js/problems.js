/** Show the API's validation problems next to the fields they name (`data-where` on the field). */

import { h, uid } from "./dom.js";

/** Remove the problems shown in `form`. */
export function clearProblems(form) {
  for (const note of form.querySelectorAll(".field-error")) {
    for (const control of form.querySelectorAll(`[aria-describedby~="${note.id}"]`)) {
      const rest = control.getAttribute("aria-describedby").split(" ").filter((id) => id !== note.id);
      if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
      else control.removeAttribute("aria-describedby");
    }
    note.remove();
  }
  form.querySelectorAll(".form-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/**
 * Put each problem of an ApiError under the field whose `data-where` is the longest prefix of its
 * `where` ("nodes[paid].config.statusCode" matches "config.statusCode"); the rest go on top.
 * Returns true when the error had anything to show.
 */
export function showProblems(form, error) {
  clearProblems(form);
  const fields = [...form.querySelectorAll("[data-where]")];
  const details = error.details?.length ? error.details : [{ where: "", message: error.message }];
  const unplaced = [];
  for (const { where = "", message } of details) {
    const path = where.replace(/^nodes\[[^\]]*\]\./, "").replace(/^body\./, "");
    const target = bestField(fields, path);
    if (target) {
      placeProblem(target, message);
    } else {
      unplaced.push(where && where !== "body" ? `${where}: ${message}` : message);
    }
  }
  if (unplaced.length) {
    form.prepend(h("div", { class: "form-error", role: "alert" }, unplaced.map((text) => h("p", {}, text))));
  }
  (form.querySelector("[aria-invalid='true']") ?? form.querySelector(".form-error"))?.scrollIntoView?.({
    block: "nearest",
  });
  return true;
}

/**
 * Show `message` at the end of `target` (a field, or a table cell) and mark the control inside it
 * invalid, described by the message before its hint. Returns the note.
 */
export function placeProblem(target, message, attrs = {}) {
  const note = h("p", { class: "field-error", id: uid("error"), ...attrs }, message);
  target.append(note);
  const control = target.querySelector("input, select, textarea");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    // Keep the field's hint described too: the error comes first.
    const hint = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", hint ? `${note.id} ${hint}` : note.id);
  }
  return note;
}

function bestField(fields, path) {
  let best = null;
  for (const field of fields) {
    const where = field.dataset.where;
    const fits = path === where || path.startsWith(`${where}.`) || path.startsWith(`${where}[`);
    if (fits && (!best || where.length > best.dataset.where.length)) best = field;
  }
  return best;
}
