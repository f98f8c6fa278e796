// A minimal admin API client for tests: raw status and JSON body, so tests
// can assert on refusals as well as on results.
export interface ApiAnswer<T = any> { status: number; body: T; headers: Headers }

export function adminClient(url: string, token: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, rawBody?: string): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${url}/v1/admin${path}`, { method, headers, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
  }
  return {
    call,
    get: <T = any>(p: string) => call<T>('GET', p),
    post: <T = any>(p: string, b?: unknown) => call<T>('POST', p, b ?? {}),
    patch: <T = any>(p: string, b: unknown) => call<T>('PATCH', p, b),
    /** Calls that must succeed: throws with the service's message otherwise. */
    async ok<T = any>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await call<T>(method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
}
export type AdminClient = ReturnType<typeof adminClient>;
