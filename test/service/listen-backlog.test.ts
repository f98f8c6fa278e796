// The listening socket's accept queue (issue 12, bench/reconnect-storm.ts):
// the service asks the kernel for a queue as long as maxConnections, so a
// reconnect storm of thousands of agents is not cut by Node's default of 511
// (each SYN dropped past it costs the agent TCP's 1, 3, 7, 15 s retry). The
// kernel caps the request at net.core.somaxconn; `ss` shows the queue it set.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';

const MAX_CONNECTIONS = 3000;
let svc: ServiceProcess;
beforeAll(async () => {
  svc = await startService({ config: { maxConnections: MAX_CONNECTIONS, maxLongPolls: MAX_CONNECTIONS - 1 } });
});
afterAll(async () => { await svc?.stop(); });

it('listens with an accept queue of maxConnections, as far as net.core.somaxconn allows', async () => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  // Node's default (511) must differ from what we expect, or the test would prove nothing.
  expect(Math.min(MAX_CONNECTIONS, somaxconn)).toBeGreaterThan(511);
  // A listening socket's Send-Q in `ss -l` is its accept queue's length limit (the backlog).
  const { stdout } = await promisify(execFile)('ss', ['-ltnH', `sport = :${svc.port}`]);
  const cols = stdout.trim().split(/\s+/);
  expect(cols[0]).toBe('LISTEN');
  expect(Number(cols[2])).toBe(Math.min(MAX_CONNECTIONS, somaxconn));
});
