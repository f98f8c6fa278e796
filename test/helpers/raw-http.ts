// Raw HTTP/1.1 over one net.Socket each, for tests that need what fetch
// hides: hundreds of sockets at once, a request that is never finished,
// bytes trickled one at a time, and whether the server closed the socket.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** 0 when the socket ended or failed before a status line arrived. */
  status: number;
  headers: Record<string, string>;
  error: string | null;
}

export interface RawRequest {
  socket: Socket;
  /** Resolves when the answer's head has arrived, or the socket ended without one. */
  answered: Promise<RawAnswer>;
  /** Resolves when the socket is closed (by either side), with ms since it was opened. */
  closed: Promise<number>;
  /** True once the server's answer head arrived. */
  isAnswered(): boolean;
}

/** Opens a socket and writes `head` (and nothing else unless the caller writes more). */
export function rawRequest(port: number, head: string, opts: { host?: string; localAddress?: string } = {}): RawRequest {
  const opened = performance.now();
  const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
  let buf = '';
  let done = false;
  let resolveAnswer!: (a: RawAnswer) => void;
  const answered = new Promise<RawAnswer>((r) => { resolveAnswer = r; });
  const finish = (a: RawAnswer) => { if (!done) { done = true; resolveAnswer(a); } };
  socket.setEncoding('latin1');
  socket.on('connect', () => { if (head) socket.write(head); });
  socket.on('data', (d: string) => {
    if (done) return;
    buf += d;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const [statusLine, ...lines] = buf.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    finish({ status: Number(statusLine.split(' ')[1]), headers, error: null });
  });
  socket.on('error', (e) => finish({ status: 0, headers: {}, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  const closed = new Promise<number>((r) => socket.once('close', () => {
    finish({ status: 0, headers: {}, error: 'closed' });
    r(performance.now() - opened);
  }));
  return { socket, answered, closed, isAnswered: () => done };
}

/** A GET request head with the given headers, keep-alive (HTTP/1.1 default). */
export function getHead(path: string, headers: Record<string, string> = {}): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** Reads one gauge or counter value (no labels) from the service's /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}
