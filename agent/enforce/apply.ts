// Applies a decision through every configured enforcer and records what each
// one did (for `status`), the decision itself, a mode-change event when the
// mode or reason changes, and the mode applied to each open sign-in session.
// Also runs the drift check (verify): the applied mode is compared with what
// each enforcer finds on the system, and applied again where it drifted.
// Calls are serialised: two applies never run enforcers concurrently.
import type { Logger } from '../../shared/log.ts';
import type { Mode } from '../../shared/schemas/common.ts';
import type { Enforcer, ApplyResult, UserMode } from './types.ts';
import { sortedUserModes } from './drift.ts';
import type { Decision } from '../decision/decide.ts';
import type { AppliedRow, Store } from '../store/store.ts';
import type { Clock } from '../decision/clock.ts';
import type { Cause } from '../decision/cause.ts';
import type { EnforcerContext } from './registry.ts';

/** What createEnforcers needs from the agent: where its data lives and a log. */
export function enforcerContext(dataDir: string, log: Logger): EnforcerContext {
  return { dataDir, platform: process.platform, log: (event, fields) => log.info({ ...fields }, event) };
}

/** What `status` keeps of one enforcer's apply: its result under the decision it applied. */
function appliedRow(r: ApplyResult, at: number, d: { mode: string; reason: string }): AppliedRow {
  return { enforcer: r.enforcer, at, mode: d.mode, reason: d.reason, ok: r.ok, changed: r.changed,
    applied: r.applied, detail: r.detail ?? null, error: r.error ?? null };
}

/** Why the drift check ran: its schedule, or `devlic-agent refresh`. */
export type DriftCause = 'schedule' | 'refresh';

/** One enforcer found out of step with the applied mode, and what applying it again did. */
export interface DriftRepair {
  enforcer: string;
  drift: string[];
  ok: boolean;
  changed: boolean;
  error?: string;
}

export interface ApplyOutcome {
  /** The mode or reason differs from the previously applied decision. */
  changed: boolean;
  previous: { mode: string; reason: string } | null;
  results: ApplyResult[];
}

export class Applier {
  private readonly enforcers: Enforcer[];
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private chain: Promise<unknown> = Promise.resolve();
  /** Per enforcer, the last drift a repair did not clear (so it is logged once). */
  private readonly unrepaired = new Map<string, string>();

  constructor(enforcers: Enforcer[], store: Store, clock: Clock, log: Logger) {
    this.enforcers = enforcers;
    this.store = store;
    this.clock = clock;
    this.log = log;
  }

  /** Resolves when no apply is running. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  /** The per-person modes last applied (issue 16), as JSON: not in the stored decision, so a restart (force) re-applies them. */
  private lastUserModes = 'null';

  apply(decision: Decision, users: string[], opts: { force?: boolean; cause?: Cause; userModes?: UserMode[] } = {}): Promise<ApplyOutcome> {
    const run = this.chain.then(() => this.applyNow(decision, users, opts));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyNow(decision: Decision, users: string[], opts: { force?: boolean; cause?: Cause; userModes?: UserMode[] }): Promise<ApplyOutcome> {
    const prev = this.store.getDecision();
    const userModes = opts.userModes ? sortedUserModes({ mode: decision.mode, reason: decision.reason, users, userModes: opts.userModes }) : undefined;
    const userModesKey = JSON.stringify(userModes ?? null);
    const sameTarget = prev !== null && prev.mode === decision.mode && prev.reason === decision.reason
      && JSON.stringify(prev.users) === JSON.stringify(users) && userModesKey === this.lastUserModes;
    const changed = prev === null || prev.mode !== decision.mode || prev.reason !== decision.reason;
    const warningChanged = JSON.stringify(prev?.warning?.code ?? null) !== JSON.stringify(decision.warning?.code ?? null);
    // Nothing to do and nothing to record (the expiry check runs every minute),
    // unless an enforcer failed last time: then this is its retry.
    const before = new Map(this.store.getApplied().map((a) => [a.enforcer, a]));
    const retry = [...before.values()].some((a) => !a.ok);
    if (sameTarget && !warningChanged && !opts.force && !retry) return { changed: false, previous: { mode: prev.mode, reason: prev.reason }, results: [] };
    let results: ApplyResult[] = [];
    // Enforcers are idempotent, but some are slow (LibreOffice read-back):
    // skip them when nothing they act on changed, unless forced; on a retry
    // only the failing ones run again (the rest are in force, and the drift
    // check keeps them so).
    if (!sameTarget || opts.force || retry) {
      const target = { mode: decision.mode as Mode, reason: decision.reason, users, ...(userModes ? { userModes } : {}) };
      const which = !sameTarget || opts.force ? this.enforcers : this.enforcers.filter((e) => before.get(e.name)?.ok !== true);
      results = await Promise.all(which.map((e) => this.one(e, target)));
      this.logFailures(results, before);
      const at = this.clock.now();
      const fresh = new Map(results.map((r) => [r.enforcer, r]));
      this.store.setApplied(this.enforcers.flatMap((e) => {
        const r = fresh.get(e.name);
        if (r) return [appliedRow(r, at, decision)];
        const kept = before.get(e.name);
        return kept ? [kept] : [];
      }));
    }
    this.lastUserModes = userModesKey;
    const at = this.clock.now();
    this.store.tx(() => {
      this.store.setDecision({ at, mode: decision.mode, reason: decision.reason, warning: decision.warning ? { ...decision.warning } : null, users });
      this.store.setOpenSessionsMode(decision.mode, decision.reason);
      if (changed) {
        this.store.addEvent(at, 'mode-change', decision.reason, {
          from: prev?.mode ?? null, fromReason: prev?.reason ?? null, to: decision.mode, users, cause: opts.cause ?? null,
          ...(decision.detail ? { detail: decision.detail } : {}),
        });
      }
      if (warningChanged && decision.warning) {
        this.store.addEvent(at, 'warning', decision.warning.code, { expiresAt: new Date(decision.warning.expiresAt).toISOString(), message: decision.warning.message });
      }
      // A failure is logged when it starts (or changes), not on every retry.
      for (const r of results.filter((x) => !x.ok)) {
        const was = before.get(r.enforcer);
        if (!was || was.ok || was.error !== (r.error ?? null)) {
          this.store.addEvent(at, 'error', 'ENFORCER_FAILED', { enforcer: r.enforcer, error: r.error ?? 'unknown error' });
        }
      }
    });
    if (changed) this.log.info({ from: prev?.mode ?? null, to: decision.mode, reason: decision.reason, users, detail: decision.detail }, 'mode changed');
    return { changed, previous: prev ? { mode: prev.mode, reason: prev.reason } : null, results };
  }

  /**
   * A failing enforcer is retried every minute; the same failure again (an
   * old LibreOffice stays old) is logged at debug, so the error shows once
   * when it starts or its message changes, and `status` keeps showing it.
   */
  private logFailures(results: ApplyResult[], before: Map<string, { ok: boolean; error: string | null }>): void {
    for (const r of results) {
      const was = before.get(r.enforcer);
      if (r.ok) {
        if (was && !was.ok) this.log.info({ enforcer: r.enforcer }, 'enforcer applies the mode again');
        continue;
      }
      const fields = { enforcer: r.enforcer, error: r.error ?? 'unknown error' };
      if (was && !was.ok && was.error === (r.error ?? null)) this.log.debug(fields, 'enforcer still cannot apply the mode');
      else this.log.error(fields, 'enforcer could not apply the mode');
    }
  }

  /**
   * The drift check: asks every enforcer that applied the current target
   * successfully whether the system still holds it, and applies it again
   * where it does not. Serialised with apply(). Failing enforcers are left
   * to apply()'s retry, which reports their failure once.
   */
  verify(cause: DriftCause): Promise<DriftRepair[]> {
    const run = this.chain.then(() => this.verifyNow(cause));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async verifyNow(cause: DriftCause): Promise<DriftRepair[]> {
    const prev = this.store.getDecision();
    if (!prev) return [];
    const userModes = JSON.parse(this.lastUserModes) as UserMode[] | null;
    const target = { mode: prev.mode as Mode, reason: prev.reason, users: prev.users, ...(userModes ? { userModes } : {}) };
    const before = new Map(this.store.getApplied().map((a) => [a.enforcer, a]));
    const repairs: DriftRepair[] = [];
    for (const e of this.enforcers) {
      const was = before.get(e.name);
      if (!was?.ok || was.mode !== prev.mode || was.reason !== prev.reason) continue;
      let drift: string[];
      try {
        drift = (await e.verify(target)).drift;
      } catch (err) {
        drift = [`state unreadable: ${(err as Error).message}`];
      }
      if (drift.length === 0) {
        this.unrepaired.delete(e.name);
        continue;
      }
      const r = await this.one(e, target);
      const at = this.clock.now();
      const repair: DriftRepair = { enforcer: e.name, drift, ok: r.ok, changed: r.changed, ...(r.error ? { error: r.error } : {}) };
      repairs.push(repair);
      // Drift that apply() finds nothing to change for would come back every
      // minute: said once, then at debug level while it stays the same.
      const signature = JSON.stringify([drift, r.ok, r.changed, r.error ?? null]);
      const repeated = this.unrepaired.get(e.name) === signature;
      if (r.ok && r.changed) this.unrepaired.delete(e.name);
      else this.unrepaired.set(e.name, signature);
      this.store.tx(() => {
        this.store.setApplied(this.store.getApplied().map((a) => (a.enforcer !== e.name ? a : appliedRow(r, at, prev))));
        if (r.ok && !repeated) {
          this.store.addEvent(at, 'drift-repaired', prev.reason, { enforcer: e.name, drift, mode: prev.mode, changed: r.changed, applied: r.applied, cause });
        } else if (!r.ok) {
          this.store.addEvent(at, 'error', 'ENFORCER_FAILED', { enforcer: e.name, error: r.error ?? 'unknown error', drift, cause });
        }
      });
      const fields = { event: 'drift-repaired', enforcer: e.name, drift, mode: prev.mode, cause };
      if (!r.ok) this.log.error({ ...fields, event: 'drift-not-repaired', error: r.error }, 'enforcer state drifted and could not be applied again');
      else if (repeated) this.log.debug(fields, 'drift-repaired (the same drift again)');
      else if (!r.changed) this.log.warn(fields, 'drift-repaired: the drift check found a difference the enforcer did not change');
      else this.log.warn(fields, 'drift-repaired');
    }
    return repairs;
  }

  private async one(e: Enforcer, target: { mode: Mode; reason: string; users: string[] }): Promise<ApplyResult> {
    try {
      return await e.apply(target);
    } catch (err) {
      return { enforcer: e.name, ok: false, changed: false, applied: 'unknown (enforcer failed)', error: (err as Error).message };
    }
  }
}
