// The agent's status reports to the service: on the schedule, at once when
// the mode, the people using the device or enforcement health change, and
// again after the next good sync when one was not delivered.
import type { Logger } from '../../shared/log.ts';
import type { Store } from '../store/store.ts';
import type { Evaluation } from '../decision/evaluate.ts';
import type { UserDecision } from '../decision/decide-user.ts';
import { buildStatusReport, enforcementHealth } from '../report/report.ts';
import type { ServiceLink } from './service-link.ts';

export interface StatusReportsOptions {
  link: ServiceLink;
  store: Store;
  log: Logger;
  /** The last decision applied (null before the first) and each signed-in person's. */
  decided: () => { last: Evaluation | null; lastUsers: UserDecision[] };
  /** Asked on the first report, then remembered (os-version.ts). */
  osVersion: () => Promise<string | undefined>;
}

export class StatusReports {
  /** A report is owed: none delivered yet, or the last one failed. */
  private dirty = true;
  /** Whether each enforcer is in force, as last seen here. */
  private seenHealth = '';
  private readonly o: StatusReportsOptions;

  constructor(o: StatusReportsOptions) {
    this.o = o;
  }

  async send(): Promise<void> {
    const { link } = this.o;
    if (!link.api || !link.identity || link.identity.revoked || !this.o.decided().last) return;
    const osVersion = await this.o.osVersion();
    // Asked on the first report only; a reload meanwhile may have changed what is checked above.
    const { last, lastUsers } = this.o.decided();
    if (!link.api || !link.identity || link.identity.revoked || !last) return;
    try {
      await link.api.reportStatus(buildStatusReport(this.o.store, last.decision, last.claims, lastUsers, osVersion));
      this.dirty = false;
    } catch (e) {
      this.dirty = true;
      this.o.log.warn({ err: (e as Error).message }, 'status report not delivered; will retry');
    }
  }

  /**
   * A change in enforcement health reaches IT at once, not at the next
   * status report (a report that fails is sent again after the next good sync).
   */
  reportIfHealthChanged(): void {
    const now = JSON.stringify(enforcementHealth(this.o.store.getApplied()));
    if (now === this.seenHealth) return;
    this.seenHealth = now;
    void this.send();
  }

  /** After a sync: a report still owed goes out once the service answers. */
  afterSync(ok: boolean): void {
    if (ok && this.dirty) void this.send();
  }
}
