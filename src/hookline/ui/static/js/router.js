/** Hash routes ("#/workflows/123"): a pattern per view, parameters from ":name" segments. */

const routes = [];

/** Register a view for a pattern such as "/workflows/:id". */
export function route(pattern, view) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, view });
}

/** The current path ("/" when the hash is empty) and its query parameters. */
export function current() {
  const [path, query = ""] = (location.hash.slice(1) || "/").split("?");
  return { path: path || "/", query: new URLSearchParams(query) };
}

/** The view and parameters for a path, or null when nothing matches. */
export function match(path) {
  for (const { regex, names, view } of routes) {
    const found = regex.exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { view, params };
    }
  }
  return null;
}

/** Go to a path; the hashchange event renders it. */
export function navigate(path) {
  if (location.hash === `#${path}`) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = path;
  }
}
