// The one way the screens talk to the server: the public JSON API with the session
// cookie, and the X-CSRF-Token header on every unsafe method.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

let token = null;

/** The session's CSRF token: from the page shell, else from /api/auth/me. */
async function csrfToken() {
  if (token) return token;
  const meta = globalThis.document?.querySelector?.('meta[name="csrf-token"]');
  if (meta?.content) token = meta.content;
  else {
    const me = await request("GET", "/api/auth/me");
    token = me?.csrf_token || null;
  }
  return token ?? "";
}

/** Remember the token handed out at sign-in or first run. */
export function setCsrfToken(value) {
  token = value || null;
}

/** The error text of an API answer: `detail` as a string, or pydantic's list of problems. */
export function detailOf(status, data) {
  const detail = data?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc ?? []).slice(1).join(".") || "request"}: ${item.msg}`).join("; ");
  }
  return `request failed (HTTP ${status})`;
}

/** Calls made before there is a session: no CSRF token to send, and a 401 is an answer. */
const BEFORE_SIGN_IN = ["/api/auth/login", "/api/setup"];

async function request(method, path, body) {
  const anonymous = BEFORE_SIGN_IN.some((p) => path.startsWith(p));
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && !anonymous) headers["X-CSRF-Token"] = await csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && !anonymous && location.pathname !== "/login") {
    const back = location.pathname + location.search;
    location.assign(`/login?next=${encodeURIComponent(back)}`);
  }
  if (!response.ok) throw new ApiError(response.status, detailOf(response.status, data));
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);
export const put = (path, body = {}) => request("PUT", path, body);

/** "/api/incidents?status=new&limit=50", leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A path segment from API data, escaped so it cannot change the route. */
export const seg = (value) => encodeURIComponent(String(value));
