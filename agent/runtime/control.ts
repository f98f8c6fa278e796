// A local control channel between the CLI and the running daemon: a Unix
// socket in the 0700 data directory (a named pipe on Windows). `refresh` asks
// the daemon to sync now and gets its result; `enroll` tells it to reload the
// identity. It also keeps a second daemon from starting on the same data dir.
// Unlike a pid file plus a signal, a stale socket can never hit an unrelated
// process that reused the pid.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync } from 'node:fs';
import type { Logger } from '../../shared/log.ts';
import { AgentError } from '../errors.ts';

export interface ControlRequest {
  cmd: 'ping' | 'refresh' | 'reload';
}

const MAX_LINE = 4096;

/** Sends one request; null when no daemon listens. */
export function sendControl(path: string, req: ControlRequest, timeoutMs = 30_000): Promise<unknown | null> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let settled = false;
    const sock: Socket = createConnection(path);
    const finish = (v: unknown | null, err?: Error) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    sock.setTimeout(timeoutMs, () => finish(null, new AgentError('the running agent did not answer in time', 'check it with: devlic-agent logs')));
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > 64 * 1024) return finish(null, new AgentError('the running agent sent an oversized answer'));
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          finish(JSON.parse(buf.slice(0, nl)));
        } catch {
          finish(null, new AgentError('the running agent sent a malformed answer'));
        }
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') finish(null);
      else finish(null, e);
    });
    sock.on('close', () => finish(null));
  });
}

export async function startControlServer(path: string, handle: (req: ControlRequest) => Promise<unknown>, log: Logger): Promise<Server> {
  if ((await sendControl(path, { cmd: 'ping' }, 2000).catch(() => null)) !== null) {
    throw new AgentError('another devlic agent is already running on this data directory', 'stop it first, or use a different --data-dir');
  }
  if (process.platform !== 'win32') {
    try { unlinkSync(path); } catch { /* no stale socket */ }
  }
  const server = createServer((sock) => {
    let buf = '';
    sock.setTimeout(60_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > MAX_LINE) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try {
        req = JSON.parse(buf.slice(0, nl));
      } catch {
        return sock.destroy();
      }
      if (!['ping', 'refresh', 'reload'].includes(req?.cmd)) return sock.destroy();
      handle(req).then(
        (res) => sock.end(JSON.stringify(res ?? { ok: true }) + '\n'),
        (e) => {
          log.error({ err: e, cmd: req.cmd }, 'control request failed');
          sock.end(JSON.stringify({ ok: false, error: (e as Error).message }) + '\n');
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (process.platform !== 'win32') chmodSync(path, 0o600);
  return server;
}
