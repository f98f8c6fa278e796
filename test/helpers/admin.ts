// A minimal admin API client for tests: raw status and JSON body, so tests
// can assert on refusals as well as on results; and the real devlic-admin run
// against the same service.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE, ROOT } from './processes.ts';
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

export interface CliResult { code: number; out: string; err: string }

/** Runs the real devlic-admin (pinned Node, from source) against a running service as its bootstrap admin; `env` adds to or overrides its environment. */
export function runAdminCli(svc: { url: string; adminToken: string }, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(ROOT, 'service/admin-cli/main.ts'), ...args], { env: { ...process.env, DEVLIC_SERVER: svc.url, DEVLIC_ADMIN_TOKEN: svc.adminToken, ...env } });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    p.stdin.end(); // no answer to a question: a confirmation it asks for is refused, as without a terminal
  });
}
