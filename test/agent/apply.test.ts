// The applier: enforcers run only when something they act on changed, a
// failed enforcer is retried on the next pass, mode changes are logged once.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Applier } from '../../agent/apply.ts';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { systemClock } from '../../agent/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import type { Enforcer, EnforcementTarget } from '../../agent/enforce/types.ts';
import type { Decision } from '../../agent/decide.ts';
import { tempDir } from '../helpers/processes.ts';

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
    };
    const ap = new Applier([slow], store, systemClock, silentLogger());
    await Promise.all([ap.apply(full, ['a']), ap.apply(ro, ['b']), ap.apply(full, ['c'])]);
    expect(maxRunning).toBe(1);
    expect(store.getDecision()).toMatchObject({ mode: 'full', users: ['c'] });
    store.close();
  });
});
