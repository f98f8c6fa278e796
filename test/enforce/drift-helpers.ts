// Shared by the drift unit tests (drift-repair, drift-enforcers): the two
// decisions they apply, a fresh agent store in a temp dir, and an enforcer
// whose state the test changes behind its back.
import { join } from 'node:path';
import { openDb } from '../../agent/store/db.ts';
import { Store } from '../../agent/store/store.ts';
import type { Enforcer, EnforcementTarget } from '../../agent/enforce/types.ts';
import type { Decision } from '../../agent/decision/decide.ts';
import { tempDir } from '../helpers/processes.ts';

export const ro: Decision = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP' };
export const full: Decision = { mode: 'full', reason: 'ASSIGNED' };

/** An enforcer whose state is a variable the test can change behind its back. */
export function stateful(name: string, opts: { failApply?: () => string | null; changes?: () => boolean } = {}) {
  let state: string | null = null;
  const applied: EnforcementTarget[] = [];
  const e: Enforcer = {
    name,
    async apply(t) {
      applied.push(t);
      const err = opts.failApply?.() ?? null;
      if (err) return { enforcer: name, ok: false, changed: false, applied: 'nothing', error: err };
      const changed = opts.changes ? opts.changes() : state !== t.mode;
      if (changed) state = t.mode;
      return { enforcer: name, ok: true, changed, applied: t.mode };
    },
    async check() { return { enforcer: name, ok: true, message: '' }; },
    async verify(t) { return { enforcer: name, drift: state === t.mode ? [] : [`state is ${state}`] }; },
  };
  return { e, applied, set: (s: string | null) => { state = s; } };
}

export const newStore = () => new Store(openDb(join(tempDir('drift'), 'agent.db')));
