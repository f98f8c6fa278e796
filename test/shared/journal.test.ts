// Log levels reach the journal: real processes with stdout and stderr on one
// file (as systemd connects both to one journald stream) and JOURNAL_STREAM
// naming that file's device:inode, as systemd sets it. Every line must then
// be `<N>{json}`; with JOURNAL_STREAM unset, or naming another stream, the
// output is the plain JSON lines of before. (journald itself is not running
// here: systemd is not PID 1; what it would parse is what is checked.)
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, NODE, ROOT, tempDir, waitFor } from '../helpers/processes.ts';

/** A file as the process's stdout and stderr, and the JOURNAL_STREAM value naming it. */
function journalFile(): { path: string; fd: number; stream: string } {
  const path = join(tempDir('journal'), 'stream');
  const fd = openSync(path, 'w');
  const st = fstatSync(fd, { bigint: true });
  return { path, fd, stream: `${st.dev}:${st.ino}` };
}

function envWith(journal: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  delete env.DEVLIC_LOG_LEVEL;
  if (journal !== undefined) env.JOURNAL_STREAM = journal;
  return env;
}

function runFixture(journal: (f: { stream: string }) => string | undefined): string {
  const f = journalFile();
  const r = spawnSync(NODE, [join(ROOT, 'test/fixtures/journal/log-levels.ts')], { stdio: ['ignore', f.fd, f.fd], env: envWith(journal(f)) });
  closeSync(f.fd);
  expect(r.status).toBe(0);
  return readFileSync(f.path, 'utf8');
}

const lines = (out: string) => out.split('\n').filter(Boolean);
// pino level -> syslog priority, as sd-daemon(3) numbers them.
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

describe('log levels on the journal', () => {
  it('the daemons\' logger prefixes each line with its priority when stdout is JOURNAL_STREAM', () => {
    const all = lines(runFixture((f) => f.stream));
    // Node's own warning is a JSON line at warning priority too.
    expect(all.filter((l) => l.includes('"msg":"node: a node warning"'))).toEqual([expect.stringMatching(/^<4>\{"level":40,/)]);
    const out = all.filter((l) => !l.includes('a node warning'));
    const seen = out.map((line) => {
      const m = line.match(/^<(\d)>(\{.*\})$/);
      expect(m, line).not.toBeNull();
      const { level } = JSON.parse(m![2]) as { level: number };
      expect(Number(m![1]), line).toBe(PRIORITY[level]);
      return level;
    });
    expect(seen.sort()).toEqual([10, 20, 30, 40, 50, 60]);
    expect(out.find((l) => l.includes('"msg":"an error line"'))).toMatch(/^<3>\{"level":50,/);
  });

  it('leaves the output unchanged without JOURNAL_STREAM, or when it names another stream', () => {
    for (const journal of [undefined, '1:1']) {
      const all = lines(runFixture(() => journal));
      // Node's warning as Node prints it, off the journal.
      expect(all.filter((l) => /^\(node:\d+\) Warning: a node warning$/.test(l)), all.join('\n')).toHaveLength(1);
      const out = all.filter((l) => l.startsWith('{'));
      expect(out.map((l) => (JSON.parse(l) as { level: number }).level).sort()).toEqual([10, 20, 30, 40, 50, 60]);
      for (const l of out) expect(l, l).toMatch(/^\{"level":\d+,/);
    }
  });

  it('the real service writes nothing but prefixed JSON lines to the journal, start to stop', async () => {
    const f = journalFile();
    const port = await freePort();
    const dataDir = join(tempDir('journal-svc'), 'data');
    const proc = spawn(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`],
      { stdio: ['ignore', f.fd, f.fd], env: envWith(f.stream) });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      await waitFor('the service listening', async () => {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${readFileSync(f.path, 'utf8')}`);
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok && readFileSync(f.path, 'utf8').includes('devlic-server listening');
      }, 30_000, 50);
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    closeSync(f.fd);
    const out = lines(readFileSync(f.path, 'utf8'));
    for (const line of out) {
      expect(line, line).toMatch(/^<[0-7]>\{"level":\d+,/);
      JSON.parse(line.slice(3));
    }
    // The first start's admin-token notice (warn) and the start and stop lines (info).
    expect(out.find((l) => l.includes('bootstrap global-admin token written to'))).toMatch(/^<4>/);
    expect(out.find((l) => l.includes('"msg":"devlic-server listening"'))).toMatch(/^<6>/);
    expect(out.find((l) => l.includes('"msg":"stopping"'))).toMatch(/^<6>/);
  });

  it('a start-up error is one JSON line at priority err on the journal, plain text elsewhere', () => {
    const args = [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(tempDir('journal-bad'), 'data'), '--listen', '127.0.0.1:1',
      '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'];
    const f = journalFile();
    const r = spawnSync(NODE, args, { stdio: ['ignore', f.fd, f.fd], env: envWith(f.stream) });
    closeSync(f.fd);
    expect(r.status).toBe(1);
    const out = lines(readFileSync(f.path, 'utf8'));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^<3>\{"level":50,/);
    expect(JSON.parse(out[0].slice(3)).msg).toMatch(/^devlic-server: cannot read the tls-cert file \/nonexistent\/cert.pem: ENOENT \[CONFIG_INVALID\]$/);

    const plain = spawnSync(NODE, args, { encoding: 'utf8', env: envWith(undefined) });
    expect(plain.status).toBe(1);
    expect(plain.stderr).toBe('devlic-server: cannot read the tls-cert file /nonexistent/cert.pem: ENOENT [CONFIG_INVALID]\n');
  });
});
