// Applies a decision through every configured enforcer and records what each
// one did (for `status`), the decision itself, a mode-change event when the
// mode or reason changes, and the mode applied to each open sign-in session.
// Calls are serialised: two applies never run enforcers concurrently.
import type { Logger } from '../../shared/log.ts';
import type { Mode } from '../../shared/schemas/common.ts';
import type { Enforcer, ApplyResult } from './types.ts';
import type { Decision } from '../decision/decide.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from '../decision/clock.ts';
import type { Cause } from '../decision/cause.ts';
import type { EnforcerContext } from './registry.ts';

/** What createEnforcers needs from the agent: where its data lives and a log. */
export function enforcerContext(dataDir: string, log: Logger): EnforcerContext {
  return { dataDir, platform: process.platform, log: (event, fields) => log.info({ ...fields }, event) };
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

  apply(decision: Decision, users: string[], opts: { force?: boolean; cause?: Cause } = {}): Promise<ApplyOutcome> {
    const run = this.chain.then(() => this.applyNow(decision, users, opts));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyNow(decision: Decision, users: string[], opts: { force?: boolean; cause?: Cause }): Promise<ApplyOutcome> {
    const prev = this.store.getDecision();
    const sameTarget = prev !== null && prev.mode === decision.mode && prev.reason === decision.reason
      && JSON.stringify(prev.users) === JSON.stringify(users);
    const changed = prev === null || prev.mode !== decision.mode || prev.reason !== decision.reason;
    const warningChanged = JSON.stringify(prev?.warning?.code ?? null) !== JSON.stringify(decision.warning?.code ?? null);
    // Nothing to do and nothing to record (the expiry check runs every minute),
    // unless an enforcer failed last time: then this is its retry.
    const before = new Map(this.store.getApplied().map((a) => [a.enforcer, a]));
    const retry = [...before.values()].some((a) => !a.ok);
    if (sameTarget && !warningChanged && !opts.force && !retry) return { changed: false, previous: { mode: prev.mode, reason: prev.reason }, results: [] };
    let results: ApplyResult[] = [];
    // Enforcers are idempotent, but some are slow (LibreOffice read-back):
    // skip them when nothing they act on changed, unless forced.
    if (!sameTarget || opts.force || retry) {
      const target = { mode: decision.mode as Mode, reason: decision.reason, users };
      results = await Promise.all(this.enforcers.map((e) => this.one(e, target)));
      this.logFailures(results, before);
      const at = this.clock.now();
      this.store.setApplied(results.map((r) => ({
        enforcer: r.enforcer, at, mode: decision.mode, reason: decision.reason, ok: r.ok, changed: r.changed,
        applied: r.applied, detail: r.detail ?? null, error: r.error ?? null,
      })));
    }
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

  private async one(e: Enforcer, target: { mode: Mode; reason: string; users: string[] }): Promise<ApplyResult> {
    try {
      return await e.apply(target);
    } catch (err) {
      return { enforcer: e.name, ok: false, changed: false, applied: 'unknown (enforcer failed)', error: (err as Error).message };
    }
  }
}
