// A loopback proxy in front of the real service that misbehaves on the
// entitlement endpoint in one chosen way at a time (refused connections,
// resets, answers later than the agent waits, error statuses, garbage,
// oversized or truncated bodies, a chosen token), while other requests pass.
// It timestamps every entitlement request it receives, so a test can count
// how often an agent retries, and records genuine tokens passing through, so
// a test can replay them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { forward, isEntitlement } from './forward.ts';

export type Fault =
  | { kind: 'pass' }
  /** The listener is closed: connection refused, for every endpoint. */
  | { kind: 'refuse' }
  /** The connection is accepted, the request read, then the socket reset (RST) without an answer. */
  | { kind: 'reset' }
  /** The answer is held this long (past the agent's timeout), then passed through. */
  | { kind: 'hold'; ms: number }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** 200 with this body as it is (not JSON, wrong shape, too large). */
  | { kind: 'body'; body: string }
  /** 200 announcing the length of `body`, sending its first half, then closing the socket. */
  | { kind: 'truncate'; body: string }
  /** 200 with this token, as the service would send it. */
  | { kind: 'serve'; token: string; seq: number };

export interface EntitlementRequest {
  /** performance.now() at arrival: monotonic, for measuring gaps. */
  at: number;
  fault: Fault['kind'];
}

export interface FaultProxy {
  url: string;
  readonly fault: Fault;
  /** Switches the fault; 'refuse' closes the listener, leaving it reopens it on the same port. */
  setFault(f: Fault): Promise<void>;
  requests: EntitlementRequest[];
  recorded: { token: string; seq: number }[];
  close(): Promise<void>;
}


export async function startFaultProxy(target: string): Promise<FaultProxy> {
  let fault: Fault = { kind: 'pass' };
  const requests: EntitlementRequest[] = [];
  const recorded: { token: string; seq: number }[] = [];
  const sockets = new Set<Socket>();

  const pass = (req: IncomingMessage, res: ServerResponse, body: Buffer[]) => forward(target, req, res, body, (a) => recorded.push(a));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body: Buffer[] = [];
    for await (const c of req) body.push(c as Buffer);
    if (!isEntitlement(req)) return pass(req, res, body);
    const f = fault;
    requests.push({ at: performance.now(), fault: f.kind });
    switch (f.kind) {
      case 'pass':
      case 'refuse': // a request that raced the close
        return pass(req, res, body);
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hold': {
        const gone = new Promise<void>((r) => res.once('close', () => r()));
        await Promise.race([new Promise((r) => setTimeout(r, f.ms)), gone]);
        if (!res.destroyed) return pass(req, res, body);
        return;
      }
      case 'status':
        res.writeHead(f.status, { ...(f.body ? { 'content-type': 'application/json' } : {}), ...f.headers });
        res.end(f.body ?? '');
        return;
      case 'body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(f.body) });
        res.end(f.body);
        return;
      case 'truncate':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(f.body) });
        res.write(f.body.slice(0, Math.floor(f.body.length / 2)));
        // Let the partial body reach the wire before the connection goes.
        setTimeout(() => req.socket.destroy(), 50);
        return;
      case 'serve':
        res.writeHead(200, { 'content-type': 'application/json', etag: `"${f.seq}"`, date: new Date().toUTCString() });
        res.end(JSON.stringify({ token: f.token, seq: f.seq }));
        return;
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const listen = (port: number) => new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', j);
      r();
    });
  });
  const shut = () => new Promise<void>((r) => {
    server.close(() => r());
    // Kept-alive connections would otherwise still reach the old listener.
    for (const s of sockets) s.destroy();
  });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get fault() { return fault; },
    async setFault(f) {
      const wasRefusing = fault.kind === 'refuse';
      fault = f;
      if (f.kind === 'refuse' && !wasRefusing) await shut();
      if (f.kind !== 'refuse' && wasRefusing) await listen(port);
    },
    requests,
    recorded,
    async close() {
      if (fault.kind !== 'refuse') await shut();
    },
  };
}
