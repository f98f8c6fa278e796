// The admin API as the console uses it: the token from sessionStorage (gone
// when the tab closes) sent as `Authorization: Bearer`, JSON in and out, and
// the service's own error message carried to the page unchanged.

const KEY = 'devlic.adminToken';
export const BASE = '/v1/admin';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Builds `?a=1&b=2`, dropping empty values. */
export function qs(query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${session.token ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The licensing service cannot be reached. Check the connection and try again.');
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: handled below */ }
  if (!r.ok) {
    const err = new ApiError(r.status, data?.error?.code ?? 'HTTP', data?.error?.message ?? `The service answered ${r.status}.`);
    // A token that stopped working (or was never valid) sends the user back to sign-in.
    if (r.status === 401) window.dispatchEvent(new CustomEvent('devlic:unauthenticated', { detail: err }));
    throw err;
  }
  return data;
}

export const get = (path, query) => api('GET', `${path}${qs(query)}`);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const enc = encodeURIComponent;
