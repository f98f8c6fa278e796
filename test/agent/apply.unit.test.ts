// The applier: enforcers run only when something they act on changed, a
// failed enforcer is retried on the next pass, mode changes are logged once.
import { describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLibreOfficeEnforcer } from '../../agent/enforce/libreoffice.ts';
import { Applier } from '../../agent/enforce/apply.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger, type Logger } from '../../shared/log.ts';
import type { Enforcer, EnforcementTarget } from '../../agent/enforce/types.ts';
import type { Decision } from '../../agent/decision/decide.ts';
import { tempDir } from '../helpers/processes.ts';
import { writeFakeLibreOffice } from '../helpers/fake-libreoffice.ts';

function fakeEnforcer(name: string, failFirst = 0): Enforcer & { calls: EnforcementTarget[] } {
  const calls: EnforcementTarget[] = [];
  return {
    name, calls,
    async apply(t) {
      calls.push(t);
      if (calls.length <= failFirst) return { enforcer: name, ok: false, changed: false, applied: 'nothing', error: 'disk full' };
      return { enforcer: name, ok: true, changed: true, applied: `${t.mode} applied` };
    },
    async check() { return { enforcer: name, ok: true, message: 'fine' }; },
    async verify() { return { enforcer: name, drift: [] }; },
  };
}

const full: Decision = { mode: 'full', reason: 'ASSIGNED' };
const ro: Decision = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' };

describe('Applier', () => {
  it('runs enforcers on changes only, logs each mode change once', async () => {
    const store = new Store(openDb(join(tempDir('apply'), 'agent.db')));
    const e = fakeEnforcer('a');
    const ap = new Applier([e], store, systemClock, silentLogger());
    expect((await ap.apply(ro, [])).changed).toBe(true);
    expect((await ap.apply(ro, [])).changed).toBe(false);
    expect(e.calls).toHaveLength(1);
    await ap.apply(ro, ['alice']);
    expect(e.calls).toHaveLength(2);
    expect(e.calls[1]).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['alice'] });
    const out = await ap.apply(full, ['alice']);
    expect(out).toMatchObject({ changed: true, previous: { mode: 'read-only' } });
    await ap.apply(full, ['alice'], { force: true });
    expect(e.calls).toHaveLength(4);
    expect(store.events({}).filter((x) => x.type === 'mode-change').map((x) => x.fields!.to)).toEqual(['read-only', 'full']);
    expect(store.getApplied()).toEqual([expect.objectContaining({ enforcer: 'a', ok: true, mode: 'full', applied: 'full applied' })]);
    store.close();
  });

  it('retries a failed enforcer on the next pass and logs the failure once', async () => {
    const store = new Store(openDb(join(tempDir('apply'), 'agent.db')));
    const bad = fakeEnforcer('flaky', 2);
    const good = fakeEnforcer('steady');
    const ap = new Applier([bad, good], store, systemClock, silentLogger());
    await ap.apply(full, []);
    await ap.apply(full, []); // same target, but 'flaky' failed: retried
    expect(bad.calls).toHaveLength(2);
    expect(store.getApplied().find((a) => a.enforcer === 'flaky')).toMatchObject({ ok: false, error: 'disk full' });
    await ap.apply(full, []); // third try succeeds
    expect(store.getApplied().every((a) => a.ok)).toBe(true);
    await ap.apply(full, []); // now nothing to do
    expect(bad.calls).toHaveLength(3);
    expect(store.events({}).filter((x) => x.type === 'error')).toHaveLength(1);
    store.close();
  });

  it('never runs two applies at once', async () => {
    const store = new Store(openDb(join(tempDir('apply'), 'agent.db')));
    let running = 0;
    let maxRunning = 0;
    const slow: Enforcer = {
      name: 'slow',
      async apply(t) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return { enforcer: 'slow', ok: true, changed: true, applied: t.mode };
      },
      async check() { return { enforcer: 'slow', ok: true, message: '' }; },
      async verify() { return { enforcer: 'slow', drift: [] }; },
    };
    const ap = new Applier([slow], store, systemClock, silentLogger());
    await Promise.all([ap.apply(full, ['a']), ap.apply(ro, ['b']), ap.apply(full, ['c'])]);
    expect(maxRunning).toBe(1);
    expect(store.getDecision()).toMatchObject({ mode: 'full', users: ['c'] });
    store.close();
  });
});

describe('Applier logging of an enforcer that keeps failing', () => {
  /** A pino logger at debug whose JSON lines land in an array. */
  function capturingLogger(): { log: Logger; lines: () => Array<{ level: number; msg: string; enforcer?: string; error?: string }> } {
    const out: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { out.push(String(chunk)); cb(); } }));
    return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  }

  it('logs the error once while it stays the same (LibreOffice 7.4 lacks ViewerAppMode), again when it changes, at debug in between', async () => {
    // A real LibreOffice enforcer against a fake 7.4 install: the layer is
    // written, but the version cannot honour it, so every pass fails alike.
    const root = join(tempDir('apply-lo'), 'libreoffice');
    const registry = join(root, 'share', 'registry');
    writeFakeLibreOffice(root, { version: '7.4.7.2', viewerMode: false });
    const lo = createLibreOfficeEnforcer({ name: 'libreoffice', installRoot: root }, { platform: 'linux' });
    const store = new Store(openDb(join(tempDir('apply'), 'agent.db')));
    const { log, lines } = capturingLogger();
    const ap = new Applier([lo, fakeEnforcer('file')], store, systemClock, log);
    const failures = () => lines().filter((l) => l.enforcer === 'libreoffice');
    for (let i = 0; i < 5; i++) await ap.apply(ro, []); // the daemon's minute ticks: each retries the failed enforcer
    expect(failures().filter((l) => l.level === 50)).toHaveLength(1);
    expect(failures().filter((l) => l.level === 50)[0].error).toMatch(/LibreOffice 7\.4\.7\.2 does not have .*ViewerAppMode/);
    expect(failures().filter((l) => l.level === 20)).toHaveLength(4);
    // status keeps showing it
    expect(store.getApplied().find((a) => a.enforcer === 'libreoffice')).toMatchObject({ ok: false, error: expect.stringMatching(/ViewerAppMode/) });
    // A different failure is news: logged as an error again.
    rmSync(join(registry, 'main.xcd'));
    await ap.apply(ro, []);
    expect(failures().filter((l) => l.level === 50)).toHaveLength(2);
    expect(failures().at(-1)!.error).toMatch(/not found|no LibreOffice registry/);
    store.close();
  });
});
