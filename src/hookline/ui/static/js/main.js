/** Start the UI: routes, sign-in guard, and rendering the view of the current hash. */

import { clearToken, token } from "./api.js";
import { h, replace } from "./dom.js";
import { openedDrawer } from "./drawer.js";
import { current, match, navigate, route } from "./router.js";
import { executionListView } from "./views/execution-list.js";
import { executionView } from "./views/execution-page.js";
import { signInView } from "./views/signin.js";
import { workflowListView } from "./views/workflow-list.js";
import { workflowView } from "./views/workflow-page.js";

route("/signin", signInView);
route("/", workflowListView);
route("/workflows/:id", workflowView);
route("/workflows/:id/executions", executionListView);
route("/executions/:id", executionView);

const root = document.getElementById("view");
let generation = 0;

async function render() {
  generation += 1;
  const mine = generation;
  openedDrawer()?.close();
  const { path, query } = current();
  const signedIn = Boolean(token());
  document.getElementById("nav").hidden = !signedIn;
  if (!signedIn && path !== "/signin") {
    navigate(`/signin?next=${encodeURIComponent(path)}`);
    return;
  }
  const found = match(path);
  if (!found) {
    replace(root, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the workflows")));
    return;
  }
  replace(root, h("p", { class: "loading" }, "Loading…"));
  // A view checks isCurrent() after each await, so a slow answer never paints over a newer page.
  const context = { query, isCurrent: () => mine === generation };
  try {
    await found.view(root, found.params, context);
  } catch (error) {
    if (!context.isCurrent()) return;
    if (error.status === 401) return; // the signed-out handler takes over
    replace(
      root,
      h("h1", {}, "Something went wrong"),
      h("p", { class: "form-error", role: "alert" }, error.message),
      h("p", {}, h("a", { href: "#/" }, "Back to the workflows")),
    );
  }
  // Move focus to the new page only when nothing holds it (a drawer opened meanwhile keeps it).
  const idle = !document.activeElement || document.activeElement === document.body;
  if (context.isCurrent() && idle) root.focus({ preventScroll: true });
}

window.addEventListener("hashchange", render);
window.addEventListener("hookline:signed-out", () => {
  if (current().path === "/signin") return; // the sign-in form says what went wrong itself
  navigate(`/signin?expired=1&next=${encodeURIComponent(current().path)}`);
});
document.getElementById("sign-out").addEventListener("click", () => {
  clearToken();
  navigate("/signin");
});
render();
