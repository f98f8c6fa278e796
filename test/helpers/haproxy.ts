// Runs the real HAProxy (Debian's haproxy package, /usr/sbin/haproxy) in
// front of devlic-server processes, with the config rendered by
// deploy/haproxy/render.ts: foreground (-db), on a free loopback port, its
// runtime API on a unix socket in a temp folder so tests wait on health-check
// results instead of sleeping. Without haproxy the tests skip loudly; with
// DEVLIC_REQUIRE_REAL_APPS=1 (CI) they fail.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HAPROXY_DEFAULTS, renderHaproxyConfig, type HaproxyOptions, type HaproxyServer } from '../../deploy/haproxy/render.ts';
import { freePort, tempDir, waitFor } from './processes.ts';

export const HAPROXY = process.env.DEVLIC_HAPROXY ?? '/usr/sbin/haproxy';
export const REQUIRE_REAL = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';

/** Why HAProxy cannot be used here, or undefined when it can. */
export const haproxyMissing: string | undefined = (() => {
  const r = spawnSync(HAPROXY, ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${HAPROXY} not found or not runnable (apt-get install haproxy)`;
})();

/** True when the HAProxy tests must be skipped (printed loudly); false when HAProxy is there or required (then they fail without it). */
export function skipWithoutHaproxy(what: string): boolean {
  if (haproxyMissing && !REQUIRE_REAL) {
    console.warn(`\n!!!!!!!! SKIPPING ${what}: ${haproxyMissing}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
    return true;
  }
  return false;
}

/** `haproxy -c` on a config text: HAProxy's own verdict (code 0 = valid) and what it printed. */
export function checkHaproxyConfig(text: string): { code: number | null; output: string } {
  const file = join(tempDir('haproxy-check'), 'haproxy.cfg');
  writeFileSync(file, text, { mode: 0o600 });
  const r = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * A self-signed certificate for 127.0.0.1: `pem` (certificate and key, as
 * HAProxy's `crt` wants it) and `cert` (the certificate alone, an agent's caFile).
 */
export function testCertificate(): { pem: string; cert: string } {
  const d = tempDir('haproxy-cert');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=licensing.example.org',
    '-addext', 'subjectAltName=DNS:licensing.example.org,IP:127.0.0.1', '-days', '2', '-keyout', join(d, 'key.pem'), '-out', join(d, 'cert.pem')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
  const pem = join(d, 'devlic.pem');
  writeFileSync(pem, readFileSync(join(d, 'cert.pem'), 'utf8') + readFileSync(join(d, 'key.pem'), 'utf8'), { mode: 0o600 });
  return { pem, cert: join(d, 'cert.pem') };
}

/** A devlic-server on loopback as a backend server line. */
export function replica(name: string, svc: { port: number }): HaproxyServer {
  return { name, address: `127.0.0.1:${svc.port}` };
}

/** One backend server's row of `show stat`. */
export interface ServerStat {
  name: string;
  /** 'UP', 'DOWN', 'UP 1/2' (going down), 'DOWN 1/2' (coming up), 'MAINT', 'no check'. */
  status: string;
  /** Last health check: 'L7OK', 'L4CON' (refused), 'L7STS' (wrong status)... */
  checkStatus: string;
  /** Connections open to it now. */
  current: number;
  /** Connections it has been given since HAProxy started. */
  total: number;
}

export interface HaproxyProcess {
  /** The one URL agents and admins use: http://127.0.0.1:PORT (https:// when options.tlsCertFile is given). */
  url: string;
  port: number;
  /** The rendered config text HAProxy runs, and where it is. */
  config: string;
  configFile: string;
  statsSocket: string;
  proc: ChildProcess;
  output(): string;
  /** A runtime API command (e.g. 'show stat', 'disable server devlic_replicas/r1'); its answer. */
  command(cmd: string): Promise<string>;
  /** The backend's servers as HAProxy sees them now. */
  servers(): Promise<ServerStat[]>;
  server(name: string): Promise<ServerStat>;
  /** Waits until HAProxy's health checks put `name` in `status` ('UP' or 'DOWN', exactly). */
  waitForStatus(name: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<ServerStat>;
  stop(): Promise<void>;
}

export const BACKEND = 'devlic_replicas';

/**
 * Starts HAProxy with the shipped config rendered for `servers`, plain HTTP on
 * a free loopback port (TLS with options.tlsCertFile), no chroot/user switch,
 * logs to its stdout. `options`
 * overrides render options (e.g. maxWaitSeconds to match the replicas').
 * Resolves once the frontend accepts connections and every server has been
 * checked UP (waitUp: false skips that, for tests that start with a dead one).
 */
/**
 * The last check's result from the stats CSV's check_status. HAProxy puts
 * "* " before it while the next check is running ("* L7OK"): that is the
 * same last result, so the prefix is dropped (a test reading it mid-check
 * failed once in CI on exactly that).
 */
export function checkStatusOf(field: string | undefined): string {
  return (field ?? '').replace(/^\* /, '');
}

export async function startHaproxy(opts: {
  servers: HaproxyServer[]; options?: Partial<HaproxyOptions>; waitUp?: boolean;
  /** Changes the rendered text before HAProxy gets it (e.g. a middlebox's short timeouts that render refuses). */
  transform?: (config: string) => string;
}): Promise<HaproxyProcess> {
  if (haproxyMissing) throw new Error(haproxyMissing);
  const dir = tempDir('haproxy');
  const port = await freePort();
  const statsSocket = join(dir, 'admin.sock');
  const rendered = renderHaproxyConfig({
    ...HAPROXY_DEFAULTS, bind: `127.0.0.1:${port}`, tlsCertFile: null, statsSocket, log: 'stdout format raw local0',
    system: false, replicaMaxConnections: 1000, ...opts.options, servers: opts.servers,
  });
  const config = opts.transform ? opts.transform(rendered) : rendered;
  const configFile = join(dir, 'haproxy.cfg');
  writeFileSync(configFile, config, { mode: 0o600 });
  const proc = spawn(HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // A test that times out never reaches its stop(); HAProxy must not outlive the test worker.
  const reap = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));

  const command = (cmd: string) => new Promise<string>((res, rej) => {
    const s = connect(statsSocket);
    let answer = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.end(`${cmd}\n`));
    s.on('data', (d) => { answer += d; });
    s.on('end', () => res(answer));
    s.on('error', rej);
  });
  const servers = async (): Promise<ServerStat[]> => {
    const [header, ...rows] = (await command('show stat')).trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const at = (k: string) => cols.indexOf(k);
    return rows.map((r) => r.split(',')).filter((f) => f[at('pxname')] === BACKEND && !['FRONTEND', 'BACKEND'].includes(f[at('svname')]))
      .map((f) => ({ name: f[at('svname')], status: f[at('status')], checkStatus: checkStatusOf(f[at('check_status')]), current: Number(f[at('scur')]), total: Number(f[at('stot')]) }));
  };
  const server = async (name: string) => {
    const s = (await servers()).find((x) => x.name === name);
    if (!s) throw new Error(`HAProxy has no server ${name}`);
    return s;
  };
  const waitForStatus = (name: string, status: 'UP' | 'DOWN', timeoutMs = 20_000) =>
    waitFor(`HAProxy to mark ${name} ${status}`, async () => {
      const s = await server(name);
      return s.status === status ? s : null;
    }, timeoutMs, 50);
  const url = `${opts.options?.tlsCertFile ? 'https' : 'http'}://127.0.0.1:${port}`;
  const h: HaproxyProcess = {
    url, port, config, configFile, statsSocket, proc, output: () => out, command, servers, server, waitForStatus,
    async stop() { if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited; } },
  };
  try {
    await waitFor(`haproxy on ${url} (output: ${out})`, async () => {
      if (proc.exitCode !== null) throw new Error(`haproxy exited ${proc.exitCode}: ${out}`);
      await servers();
      return await new Promise<boolean>((res) => {
        const c = connect(port, '127.0.0.1', () => { c.destroy(); res(true); });
        c.on('error', () => res(false));
      });
    }, 20_000, 50);
    if (opts.waitUp !== false) {
      for (const s of opts.servers) await waitForStatus(s.name, 'UP');
      // UP at start is HAProxy's assumption; a passed check (L7OK) is the proof.
      for (const s of opts.servers) await waitFor(`a passed /healthz check of ${s.name}`, async () => (await server(s.name)).checkStatus === 'L7OK', 20_000, 50);
    }
  } catch (e) {
    await h.stop();
    throw e;
  }
  return h;
}
