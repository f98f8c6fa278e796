// A loopback proxy in front of the real service that a test can turn into a
// liar: pass traffic through (recording every entitlement answer), answer
// 503 as if the service were down, or serve a chosen entitlement token - to
// replay an older token or hand over another device's - and a chosen key set
// on the key-rotation endpoint (a forged chain).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward, isEntitlement } from './forward.ts';

export type ProxyMode = { kind: 'pass' } | { kind: 'down' } | { kind: 'serve'; token: string; seq: number };

export interface Proxy {
  url: string;
  mode: ProxyMode;
  recorded: { token: string; seq: number }[];
  entitlementRequests: number;
  /** When set, served as GET /.well-known/devlic-keys instead of the service's. */
  keySet?: unknown;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const p: Proxy = { url: '', mode: { kind: 'pass' }, recorded: [], entitlementRequests: 0, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const isEnt = isEntitlement(req);
    if (isEnt) p.entitlementRequests++;
    const mode = p.mode;
    if (mode.kind === 'down') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'proxy says down' } }));
      return;
    }
    if (p.keySet !== undefined && req.url === '/.well-known/devlic-keys') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(p.keySet));
      return;
    }
    if (mode.kind === 'serve' && isEnt) {
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${mode.seq}"`, date: new Date().toUTCString() });
      res.end(JSON.stringify({ token: mode.token, seq: mode.seq }));
      return;
    }
    await forward(target, req, res, chunks, (a) => p.recorded.push(a));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return p;
}
