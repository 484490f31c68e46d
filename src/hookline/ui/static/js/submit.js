/** Saving a form through the API: one request at a time, problems shown next to their fields. */

import { clearProblems, showProblems } from "./problems.js";

/**
 * On submit of `form`, run `save()` with `button` disabled meanwhile. Whatever it throws — an
 * ApiError, or a local {details: [{where, message}]} problem — is shown in the form.
 */
export function onSubmit(form, button, save) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    clearProblems(form);
    button.disabled = true;
    try {
      await save();
    } catch (error) {
      showProblems(form, error);
    } finally {
      button.disabled = false;
    }
  });
}
