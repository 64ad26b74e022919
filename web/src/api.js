// The dashboard's only way to the server: /api/v1 with the signed-in token.
const kTokenKey = 'lightcone.token';
const kPageLimit = 10000;  // the API's largest page (docs/api.md: limit <= 10,000)

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export function token() { return sessionStorage.getItem(kTokenKey); }
export function setToken(t) { sessionStorage.setItem(kTokenKey, t); }
export function clearToken() { sessionStorage.removeItem(kTokenKey); }

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

export function query(params) {
  const q = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return q.length ? '?' + q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '';
}

// Calls the API; returns the parsed JSON (or the Response with {raw: true}).
export async function api(path, { method = 'GET', body, raw = false, tokenOverride } = {}) {
  const headers = { Authorization: `Bearer ${tokenOverride ?? token() ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let code = '', message = `${method} ${path}: HTTP ${res.status}`;
    try {
      const e = (await res.json()).error;
      if (e) { code = e.code; message = `${e.message || message} (${e.code})`; }
    } catch { /* not a JSON error body */ }
    if (res.status === 401 && tokenOverride === undefined) onUnauthenticated();
    throw new ApiError(res.status, code, message);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

// Every item of a paginated list (following next_after_id), up to `max` items.
export async function listAll(path, params = {}, max = 100000) {
  const items = [];
  let after = 0;
  for (;;) {
    const page = await api(path + query({ ...params, limit: kPageLimit, after_id: after || undefined }));
    const got = Array.isArray(page) ? page : page.items || [];
    items.push(...got);
    after = Array.isArray(page) ? 0 : page.next_after_id || 0;
    if (!after || got.length === 0 || items.length >= max) return items;
  }
}

// One page of a list: {items, next_after_id}.
export async function listPage(path, params = {}) {
  const page = await api(path + query(params));
  return Array.isArray(page) ? { items: page, next_after_id: 0 } : page;
}
