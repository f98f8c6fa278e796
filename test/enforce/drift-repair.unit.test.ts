// The applier's repair pass (Applier.verify) with enforcers whose state the
// test controls: what is re-applied, the events and log lines (once, then
// debug), and failing enforcers left to apply's retry. No processes.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Applier } from '../../agent/enforce/apply.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger, type Logger } from '../../shared/log.ts';
import { full, newStore, ro, stateful } from './drift-helpers.ts';

function capturingLogger(): { log: Logger; lines: () => Array<{ level: number; msg: string; enforcer?: string; event?: string }> } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { out.push(String(chunk)); cb(); } }));
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('Applier.verify', () => {
  it('does nothing before the first decision or while everything holds', async () => {
    const store = newStore();
    const a = stateful('a');
    const ap = new Applier([a.e], store, systemClock, silentLogger());
    expect(await ap.verify('schedule')).toEqual([]);
    await ap.apply(ro, []);
    expect(await ap.verify('schedule')).toEqual([]);
    expect(a.applied).toHaveLength(1);
    expect(store.events({}).filter((x) => x.type === 'drift-repaired')).toHaveLength(0);
    store.close();
  });

  it('applies the mode again where it drifted, logs drift-repaired with what drifted, touches nothing else', async () => {
    const store = newStore();
    const a = stateful('a');
    const b = stateful('b');
    const { log, lines } = capturingLogger();
    const ap = new Applier([a.e, b.e], store, systemClock, log);
    await ap.apply(ro, ['alice']);
    a.set(null); // deleted behind the agent's back
    const r = await ap.verify('refresh');
    expect(r).toEqual([{ enforcer: 'a', drift: ['state is null'], ok: true, changed: true }]);
    expect(a.applied.at(-1)).toEqual({ mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: ['alice'] });
    expect(b.applied).toHaveLength(1);
    const ev = store.events({}).filter((x) => x.type === 'drift-repaired');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ reason: 'NOT_IN_LICENSED_GROUP', fields: { enforcer: 'a', drift: ['state is null'], mode: 'read-only', cause: 'refresh' } });
    expect(lines().filter((l) => l.event === 'drift-repaired' && l.level === 40)).toHaveLength(1);
    expect(store.lastEvent('drift-repaired')?.id).toBe(ev[0].id);
    // Repaired: the next pass finds nothing.
    expect(await ap.verify('schedule')).toEqual([]);
    store.close();
  });

  it('a repair that fails is an ENFORCER_FAILED error; apply retries that enforcer, the drift check leaves it alone', async () => {
    const store = newStore();
    let fail: string | null = null;
    const a = stateful('a', { failApply: () => fail });
    const ap = new Applier([a.e], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    a.set('full');
    fail = 'read-only file system';
    expect(await ap.verify('schedule')).toEqual([{ enforcer: 'a', drift: ['state is full'], ok: false, changed: false, error: 'read-only file system' }]);
    expect(store.getApplied()[0]).toMatchObject({ ok: false, error: 'read-only file system' });
    expect(await ap.verify('schedule')).toEqual([]); // failing: apply's retry owns it
    const errors = store.events({}).filter((x) => x.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].fields).toMatchObject({ enforcer: 'a', drift: ['state is full'] });
    fail = null;
    await ap.apply(ro, []); // the minute's retry
    expect(store.getApplied()[0].ok).toBe(true);
    expect(await ap.verify('schedule')).toEqual([]);
    store.close();
  });

  it('drift that applying does not clear is logged once, then at debug while it stays the same', async () => {
    const store = newStore();
    let stuck = false;
    const a = stateful('a', { changes: () => !stuck });
    const { log, lines } = capturingLogger();
    const ap = new Applier([a.e], store, systemClock, log);
    await ap.apply(full, []);
    a.set('read-only');
    stuck = true;
    for (let i = 0; i < 4; i++) await ap.verify('schedule');
    expect(store.events({}).filter((x) => x.type === 'drift-repaired')).toHaveLength(1);
    const drift = lines().filter((l) => l.enforcer === 'a' && l.event === 'drift-repaired');
    expect(drift.filter((l) => l.level === 40)).toHaveLength(1);
    expect(drift.filter((l) => l.level === 20)).toHaveLength(3);
    store.close();
  });

  it('only the failing enforcer is retried while the target stays the same', async () => {
    const store = newStore();
    let fail: string | null = 'disk full';
    const bad = stateful('bad', { failApply: () => fail });
    const good = stateful('good');
    const ap = new Applier([bad.e, good.e], store, systemClock, silentLogger());
    await ap.apply(ro, []);
    await ap.apply(ro, []);
    expect(bad.applied).toHaveLength(2);
    expect(good.applied).toHaveLength(1);
    expect(store.getApplied().map((x) => [x.enforcer, x.ok])).toEqual([['bad', false], ['good', true]]);
    fail = null;
    await ap.apply(ro, []);
    expect(store.getApplied().map((x) => [x.enforcer, x.ok])).toEqual([['bad', true], ['good', true]]);
    store.close();
  });
});
