/** The admin API client: the token for this browser session, JSON in and out, one error type. */

const TOKEN_KEY = "hookline.token";

/** An answer of the API that is not a success, or a server that cannot be reached (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The admin token of this browser tab (kept in sessionStorage, gone when the tab closes). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Call the admin API at `/api<path>`; resolves to the JSON answer (null for 204). `signal` (an
 * AbortSignal) cancels the call: it then rejects with the browser's AbortError.
 */
export async function request(method, path, body, { signal } = {}) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, "unreachable", "The hookline server cannot be reached. Is it running?");
  }
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (response.ok) return payload;
  const error = payload?.error ?? {};
  const failure = new ApiError(
    response.status,
    error.code ?? "http_error",
    error.message ?? `The server answered ${response.status}.`,
    error.details ?? [],
  );
  if (response.status === 401) {
    clearToken();
    window.dispatchEvent(new CustomEvent("hookline:signed-out", { detail: failure }));
  }
  throw failure;
}

/** Shortcuts: api.get("/workflows"), api.post(path, body, {signal}), api.patch(path, body), api.del(path). */
export const api = {
  get: (path) => request("GET", path),
  post: (path, body, options) => request("POST", path, body ?? {}, options),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

/** A query string from an object, leaving out empty values: qs({q: "a", limit: 5}) → "?q=a&limit=5". */
export function qs(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}
