// The public API, as every client reaches it: /client/v4/accounts/{account}/realtime/kit/...
// with "Authorization: Bearer <token>". The token lives only in this tab's sessionStorage.

const TOKEN = "reckit.token";
const ACCOUNT = "reckit.account";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN) || "";
  },
  get account() {
    return sessionStorage.getItem(ACCOUNT) || "";
  },
  get signedIn() {
    return Boolean(this.token && this.account);
  },
  set(token, account) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(ACCOUNT, account);
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(ACCOUNT);
  },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// /dashboard/ -> /client/v4/, /client/v4/dashboard/ -> /client/v4/, and a path prefix in front
// of reckit (/rec/dashboard/ -> /rec/client/v4/) is kept.
const ROOT = new URL(".", document.baseURI).pathname.replace(/dashboard\/$/, "");
const API_PATH = ROOT.endsWith("client/v4/") ? ROOT : `${ROOT}client/v4/`;
const API_BASE = new URL(API_PATH, location.origin);

function errorMessage(body, status) {
  if (body && body.error && body.error.message) return body.error.message;
  if (body && Array.isArray(body.errors) && body.errors.length) return body.errors[0].message;
  return `HTTP ${status}`;
}

export async function call(method, path, { query, body, token, account } = {}) {
  const acct = account ?? session.account;
  const url = new URL(`accounts/${encodeURIComponent(acct)}/realtime/kit/${path}`, API_BASE);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
  }
  const headers = { Authorization: `Bearer ${token ?? session.token}` };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, `The server could not be reached (${err.message}).`);
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (!response.ok) throw new ApiError(response.status, errorMessage(json, response.status));
  return json;
}

export const app = (appId, rest = "") => `${encodeURIComponent(appId)}${rest}`;
