// End-to-end harness for the agent: a real devlic-server with a subscription
// and a group, and real `devlic-agent` processes, each in its own temp data
// dir with its own (fake) identity, utmp file and clock file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NODE, ROOT, startService, tempDir, waitFor, type ServiceProcess } from '../../helpers/processes.ts';
import { adminClient, type AdminClient } from '../../helpers/admin.ts';
import { utmpRecord } from './utmp-record.ts';
import { startProxy, type Proxy } from './proxy.ts';

export const PRODUCT = 'M365_APPS_ENTERPRISE_DEVICE';

export interface Lab {
  svc: ServiceProcess;
  admin: AdminClient;
  subscription: string;
  group: string;
  enrollToken(uses?: number): Promise<string>;
  assign(): Promise<void>;
  unassign(): Promise<void>;
}

export async function startLab(opts: { dataDir?: string; port?: number; seats?: number } = {}): Promise<Lab> {
  const svc = await startService({ dataDir: opts.dataDir, port: opts.port });
  return labOn(svc, opts.seats);
}

/** Admin objects on a running service (created once per service data dir). */
export async function labOn(svc: ServiceProcess, seats = 10): Promise<Lab> {
  const admin = adminClient(svc.url, svc.adminToken);
  const sub = await admin.ok('POST', '/subscriptions', { product: PRODUCT, seats, name: `sub-${randomBytes(3).toString('hex')}` });
  const grp = await admin.ok('POST', '/groups', { name: `lab-${randomBytes(3).toString('hex')}` });
  return {
    svc, admin, subscription: sub.id, group: grp.id,
    async enrollToken(uses = 10) {
      return (await admin.ok('POST', '/enroll-tokens', { uses, group: grp.id })).token;
    },
    async assign() { await admin.ok('POST', '/licenses/assign', { subscription: sub.id, group: grp.id }); },
    async unassign() { await admin.ok('POST', '/licenses/unassign', { subscription: sub.id, group: grp.id, confirm: true }); },
  };
}

export interface ProxiedAgent { lab: Lab; proxy: Proxy; agent: TestAgent; stop(): Promise<void> }

/**
 * A lab, a proxy in front of its service, and one agent enrolled THROUGH the
 * proxy (not started), so a test can cut the agent off or feed it lies.
 */
export async function proxiedAgent(name: string): Promise<ProxiedAgent> {
  const lab = await startLab();
  const proxy = await startProxy(lab.svc.url);
  const agent = new TestAgent(name);
  const r = await agent.enroll(proxy.url, await lab.enrollToken());
  if (r.code !== 0) throw new Error(`enroll failed (${r.code}): ${r.stderr}`);
  return {
    lab, proxy, agent,
    async stop() {
      await agent.stop();
      await proxy.close();
      await lab.svc.stop();
    },
  };
}

/** proxiedAgent() with its group licensed and the daemon running, full. */
export async function licensedProxiedAgent(name: string): Promise<ProxiedAgent> {
  const setup = await proxiedAgent(name);
  await setup.lab.assign();
  await setup.agent.start();
  await setup.agent.waitMode('full', 'ASSIGNED', 30_000);
  return setup;
}

export interface CliResult { code: number; stdout: string; stderr: string }

export class TestAgent {
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly nowFile: string;
  readonly identityFile: string;
  readonly utmpFile: string;
  proc: ChildProcess | null = null;
  output = '';
  private exited: Promise<void> | null = null;

  /** Program and arguments the daemon (`run`, not the CLI commands) is started through, e.g. a sandbox. */
  private readonly wrapper: string[];

  constructor(name: string, opts: { machineId?: string; hardwareUuid?: string; config?: Record<string, unknown>; wrapper?: string[] } = {}) {
    this.wrapper = opts.wrapper ?? [];
    this.dir = tempDir(`agent-${name}`);
    this.dataDir = join(this.dir, 'data');
    this.configFile = join(this.dir, 'agent.json');
    this.nowFile = join(this.dir, 'now');
    this.identityFile = join(this.dir, 'identity-source.json');
    this.utmpFile = join(this.dir, 'utmp');
    writeFileSync(this.nowFile, '+0s');
    writeFileSync(this.utmpFile, Buffer.alloc(0));
    writeFileSync(this.identityFile, JSON.stringify({
      machineId: opts.machineId ?? randomBytes(16).toString('hex'), hardwareUuid: opts.hardwareUuid ?? '',
      hostname: name, manufacturer: 'TestCorp', model: 'Laptop 13', serial: `SN-${name}`, os: 'Debian GNU/Linux 12',
    }));
    this.configure(opts.config);
  }

  /** (Re)writes the agent's config file: the test defaults plus `config`; read by the next command or daemon start. */
  configure(config: Record<string, unknown> = {}): void {
    writeFileSync(this.configFile, JSON.stringify({
      utmpPath: this.utmpFile,
      // Re-decide every second so that moving the test clock shows quickly.
      expirySchedule: '* * * * * *',
      ...config,
    }));
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DEVLIC_FAKE_NOW_FILE: this.nowFile, DEVLIC_FAKE_IDENTITY_FILE: this.identityFile, DEVLIC_LOG_LEVEL: 'info' };
  }

  private common(): string[] {
    return ['--data-dir', this.dataDir, '--config', this.configFile];
  }

  /** Runs one agent command to completion. */
  cli(args: string[], timeoutMs = 90_000): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(NODE, [join(ROOT, 'agent/main.ts'), ...args, ...this.common()], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`devlic-agent ${args.join(' ')} timed out: ${stderr}`)); }, timeoutMs);
      p.on('exit', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
    });
  }

  async enroll(url: string, token: string): Promise<CliResult> {
    return this.cli(['enroll', '--server', url, '--token', token, '--json']);
  }

  /** Starts `devlic-agent run` and waits until it answers on its control socket. */
  async start(): Promise<void> {
    const [file, ...args] = [...this.wrapper, NODE, join(ROOT, 'agent/main.ts'), 'run', ...this.common()];
    const p = spawn(file, args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    let mine = '';
    p.stdout!.on('data', (d) => { this.output += d; mine += d; });
    p.stderr!.on('data', (d) => { this.output += d; mine += d; });
    this.exited = new Promise((r) => p.once('exit', () => r()));
    await waitFor('agent daemon start', () => {
      if (p.exitCode !== null) throw new Error(`agent exited ${p.exitCode}: ${mine}`);
      return mine.includes('"msg":"agent started"');
    // Generous: a dead agent fails at once above; a live one on a loaded CI machine (seven starting together) can take long.
    }, 120_000, 20);
  }

  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    p.kill('SIGTERM');
    await this.exited;
    return p.exitCode;
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await this.exited;
  }

  async status(): Promise<any> {
    const r = await this.cli(['status', '--json']);
    // A device that is not enrolled exits 1, with its status on stdout all the same.
    const notEnrolled = r.code === 1 && /not enrolled/.test(r.stderr);
    if (r.code !== 0 && !notEnrolled) throw new Error(`status failed (${r.code}): ${r.stderr}`);
    const st = JSON.parse(r.stdout);
    if (notEnrolled && st.enrolled !== false) throw new Error(`status exited 1 for "not enrolled" but says enrolled: ${r.stdout}`);
    return st;
  }

  async logs(args: string[] = []): Promise<any[]> {
    const r = await this.cli(['logs', '--json', '--since', '3650d', ...args]);
    if (r.code !== 0) throw new Error(`logs failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  /** What the file enforcer last wrote, or null. */
  appMode(): { mode: string; reason: string; users: string[] } | null {
    const f = join(this.dataDir, 'app-mode.json');
    if (!existsSync(f)) return null;
    try {
      return JSON.parse(readFileSync(f, 'utf8'));
    } catch {
      return null;
    }
  }

  /** Waits until the file enforcer shows `mode` (and `reason`, if given); returns ms waited. */
  async waitMode(mode: string, reason?: string, timeoutMs = 20_000): Promise<number> {
    const t0 = Date.now();
    await waitFor(`app-mode ${mode} ${reason ?? ''} (now ${JSON.stringify(this.appMode())})`, () => {
      const m = this.appMode();
      return m && m.mode === mode && (!reason || m.reason === reason);
    }, timeoutMs, 10);
    return Date.now() - t0;
  }

  setNow(text: string): void {
    writeFileSync(this.nowFile, text);
  }

  /** Writes utmp with these people signed in. */
  signedIn(users: { user: string; line: string }[]): void {
    writeFileSync(this.utmpFile, Buffer.concat(users.map((u, i) => utmpRecord({ type: 7, pid: 1000 + i, user: u.user, line: u.line, timeMs: Date.now() }))));
  }
}
