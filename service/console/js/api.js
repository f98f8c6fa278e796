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
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    /** e.g. `{ impact }` of a CONFIRMATION_REQUIRED refusal. */
    this.details = details;
  }
}

/** Builds `?a=1&b=2`, dropping empty values. */
export function qs(query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function send(method, path, body, accept) {
  const headers = { authorization: `Bearer ${session.token ?? ''}`, accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The licensing service cannot be reached. Check the connection and try again.');
  }
  if (r.ok) return r;
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: handled below */ }
  const err = new ApiError(r.status, data?.error?.code ?? 'HTTP', data?.error?.message ?? `The service answered ${r.status}.`, data?.error?.details ?? null);
  // A token that stopped working (or was never valid) sends the user back to sign-in.
  if (r.status === 401) window.dispatchEvent(new CustomEvent('devlic:unauthenticated', { detail: err }));
  throw err;
}

export async function api(method, path, body) {
  const text = await (await send(method, path, body, 'application/json')).text();
  return text ? JSON.parse(text) : null;
}

/** A non-JSON answer (the CSV export) as a Blob. */
export async function getBlob(path, query, accept) {
  return (await send('GET', `${path}${qs(query)}`, undefined, accept)).blob();
}

export const get = (path, query) => api('GET', `${path}${qs(query)}`);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path, body) => api('DELETE', path, body);
export const enc = encodeURIComponent;
