// Sign-in watching: reconciliation with the database (including sign-outs
// missed while the agent was stopped) and fast detection through fs.watch.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import { reconcileSessions, SessionWatcher, utmpSource, type SessionChange } from '../../agent/host/sessions.ts';
import { USER_PROCESS, DEAD_PROCESS } from '../../agent/host/utmp.ts';
import { systemClock } from '../../agent/decision/clock.ts';
import { silentLogger } from '../../shared/log.ts';
import { tempDir, waitFor } from '../helpers/processes.ts';
import { utmpRecord } from './helpers/utmp-record.ts';

const newStore = () => new Store(openDb(join(tempDir('sess'), 'agent.db')));

describe('reconcileSessions', () => {
  it('opens new sessions, closes vanished ones and logs both', () => {
    const store = newStore();
    const a = { user: 'alice', line: 'tty2', host: '', sinceMs: 1000 };
    const b = { user: 'bob', line: 'pts/0', host: '10.1.1.1', sinceMs: 0 };
    expect(reconcileSessions(store, [a, b], 5000)).toMatchObject({ started: [a, b], ended: [], users: ['alice', 'bob'] });
    expect(reconcileSessions(store, [a, b], 6000)).toMatchObject({ started: [], ended: [] });
    expect(reconcileSessions(store, [b], 7000)).toMatchObject({ started: [], ended: [{ user: 'alice', line: 'tty2' }], users: ['bob'] });
    const open = store.openSessions();
    expect(open.map((s) => s.user)).toEqual(['bob']);
    expect(open[0].startedAt).toBe(5000); // no utmp time: the time it was seen
    expect(store.events({}).map((e) => `${e.type}:${(e.fields as { user: string }).user}`)).toEqual(['sign-in:alice', 'sign-in:bob', 'sign-out:alice']);
    store.close();
  });

  it('closes, at start-up, sessions that ended while the agent was not running', () => {
    const store = newStore();
    reconcileSessions(store, [{ user: 'carol', line: 'tty3', host: '', sinceMs: 1 }], 10);
    // Agent restarts; carol signed out meanwhile.
    const change = reconcileSessions(store, [], 20);
    expect(change.ended).toEqual([{ user: 'carol', line: 'tty3' }]);
    expect(store.openSessions()).toEqual([]);
    store.close();
  });
});

describe('SessionWatcher on a utmp file', () => {
  it('notices a sign-in and a sign-out well within a second', async () => {
    const dir = tempDir('sess');
    const utmp = join(dir, 'utmp');
    writeFileSync(utmp, Buffer.alloc(0));
    const store = newStore();
    const changes: SessionChange[] = [];
    const w = new SessionWatcher({
      source: utmpSource(utmp), watchPath: utmp, pollMs: 60_000, store, clock: systemClock, log: silentLogger(),
      onChange: (c) => changes.push(c),
    });
    expect((await w.start()).users).toEqual([]);
    const t0 = Date.now();
    writeFileSync(utmp, utmpRecord({ type: USER_PROCESS, user: 'alice', line: 'tty2', pid: 99 }));
    await waitFor('sign-in', () => changes.length === 1, 1000, 10);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(changes[0].users).toEqual(['alice']);
    writeFileSync(utmp, utmpRecord({ type: DEAD_PROCESS, user: 'alice', line: 'tty2', pid: 99 }));
    await waitFor('sign-out', () => changes.length === 2, 1000, 10);
    expect(changes[1]).toMatchObject({ ended: [{ user: 'alice', line: 'tty2' }], users: [] });
    w.stop();
    store.close();
  });

  it('re-reads utmp periodically only when the file changed since the last scan', async () => {
    const dir = tempDir('sess');
    const utmp = join(dir, 'utmp');
    writeFileSync(utmp, utmpRecord({ type: USER_PROCESS, user: 'erin', line: 'tty3', pid: 7 }));
    const store = newStore();
    let reads = 0;
    const read = utmpSource(utmp);
    const changes: SessionChange[] = [];
    const w = new SessionWatcher({
      source: () => { reads++; return read(); }, watchPath: utmp, pollMs: 3_600_000, store, clock: systemClock, log: silentLogger(),
      onChange: (c) => changes.push(c),
    });
    expect((await w.start()).users).toEqual(['erin']);
    expect(reads).toBe(1);
    for (let i = 0; i < 5; i++) expect(w.periodic()).toBe(false);
    expect(reads).toBe(1);
    // A change the file watch missed (its watch is gone): same size, another user.
    (w as unknown as { watcher: { close(): void } | null }).watcher?.close();
    (w as unknown as { watcher: unknown }).watcher = null;
    writeFileSync(utmp, utmpRecord({ type: USER_PROCESS, user: 'finn', line: 'tty3', pid: 7 }));
    expect(w.periodic()).toBe(true);
    await waitFor('the missed change', () => w.users.includes('finn'), 2000, 10);
    expect(changes.at(-1)?.users).toEqual(['finn']);
    expect(w.periodic()).toBe(false);
    w.stop();
    store.close();
  });

  it('starts although the session list cannot be read, with the sessions recorded before, and picks up the next good read', async () => {
    const store = newStore();
    reconcileSessions(store, [{ user: 'erin', line: 'session 2', host: '', sinceMs: 1 }], 10);
    let fail = true;
    const changes: SessionChange[] = [];
    const w = new SessionWatcher({
      source: async () => { if (fail) throw new Error('powershell.exe exited with code 1'); return [{ user: 'frank', line: 'session 3', host: '', sinceMs: 0 }]; },
      pollMs: 50, store, clock: systemClock, log: silentLogger(), onChange: (c) => changes.push(c),
    });
    expect(await w.start()).toEqual({ started: [], ended: [], users: ['erin'] });
    expect(w.users).toEqual(['erin']);
    expect(store.openSessions().map((x) => x.user)).toEqual(['erin']); // nothing closed on a failed read
    fail = false;
    await waitFor('a good read', () => changes.length >= 1, 10_000, 10);
    expect(w.users).toEqual(['frank']);
    expect(changes[0]).toMatchObject({ ended: [{ user: 'erin', line: 'session 2' }], users: ['frank'] });
    w.stop();
    store.close();
  });

  it('finds a utmp file that appears later through the periodic scan', async () => {
    const dir = tempDir('sess');
    const utmp = join(dir, 'utmp');
    const store = newStore();
    const changes: SessionChange[] = [];
    const w = new SessionWatcher({
      source: utmpSource(utmp), watchPath: utmp, pollMs: 100, store, clock: systemClock, log: silentLogger(),
      onChange: (c) => changes.push(c),
    });
    await w.start();
    writeFileSync(utmp, utmpRecord({ type: USER_PROCESS, user: 'dave', line: ':0' }));
    await waitFor('late sign-in', () => changes.length >= 1, 2000, 10);
    expect(w.users).toEqual(['dave']);
    w.stop();
    store.close();
  });
});
