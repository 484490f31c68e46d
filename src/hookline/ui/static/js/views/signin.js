/** Sign in with the admin token; it is kept for this browser tab only. */

import { api, clearToken, setToken } from "../api.js";
import { field, h, replace } from "../dom.js";
import { navigate } from "../router.js";

/** The sign-in form. */
export async function signInView(root, _params, { query }) {
  const input = h("input", { type: "password", name: "token", autocomplete: "current-password", required: true });
  const message = h("div", { class: "form-error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("h1", {}, "Sign in to hookline"),
    query.get("expired") ? h("p", { class: "notice" }, "Your session ended. Sign in again.") : null,
    message,
    field("Admin token", input, {
      hint: "Printed by the first `hookline serve`, saved in data/admin-token, or set with HOOKLINE_ADMIN_TOKEN.",
    }),
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return showError("Enter the admin token.");
    button.disabled = true;
    setToken(value);
    try {
      await api.get("/workflows?limit=1");
      const next = query.get("next");
      navigate(next && next !== "/signin" ? next : "/");
    } catch (error) {
      clearToken();
      showError(error.status === 401 ? "That token is wrong. Check it and try again." : error.message);
    } finally {
      button.disabled = false;
    }
  });
  function showError(text) {
    replace(message, text);
    message.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  replace(root, form);
  input.focus();
}
