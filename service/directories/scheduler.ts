// Runs directory syncs: on demand and every directory's sync interval. One
// sync per directory at a time in this process (a second request waits for
// the running one, then runs: it may have been asked for after a change in
// the directory). Across replicas the periodic sync is claimed in the
// database (claimDue), so one replica runs it per interval.
import type { Logger } from '../../shared/log.ts';
import type { Actor, LicensingContext } from '../licensing/context.ts';
import type { DirectoryRow } from '../store/queries/directories.ts';
import { directoryByRef } from './directories.ts';
import type { PasswordBox } from './secret.ts';
import { syncDirectory, type SyncResult } from './sync.ts';

/** How often due directories are looked for: one small query; the shortest interval allowed is 10 s. */
const TICK_MS = 5_000;

export class DirectorySyncer {
  private readonly running = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  private readonly ctx: LicensingContext;
  readonly box: PasswordBox;
  private readonly log: Logger;

  constructor(ctx: LicensingContext, box: PasswordBox, log: Logger) {
    this.ctx = ctx;
    this.box = box;
    this.log = log;
  }

  /** Syncs now (waiting for a sync of the same directory already running). */
  async sync(ref: string, actor: Actor | null): Promise<{ row: DirectoryRow; result: SyncResult }> {
    const row = await directoryByRef(this.ctx.store, ref);
    const before = this.running.get(row.id) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(async () => {
      const fresh = await directoryByRef(this.ctx.store, row.id);
      const result = await syncDirectory(this.ctx, this.box, fresh, actor);
      const c = result.counts;
      if (result.ok) this.log.info({ directory: fresh.name, ...c, devicesChanged: result.devicesChanged, peopleChanged: result.peopleChanged }, 'directory synced');
      else this.log.warn({ directory: fresh.name, error: result.error }, 'directory sync failed: no membership changed');
      return { row: fresh, result };
    });
    this.running.set(row.id, mine);
    try {
      return await mine;
    } finally {
      if (this.running.get(row.id) === mine) this.running.delete(row.id);
    }
  }

  start(): void {
    this.timer = setInterval(() => { void this.tick(); }, TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  stop(): Promise<unknown> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return Promise.allSettled([...this.running.values()]);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = this.ctx.now();
      const nowIso = new Date(now).toISOString();
      for (const d of await this.ctx.store.directories.all()) {
        if (d.next_sync_at > nowIso || this.running.has(d.id)) continue;
        const next = new Date(now + Number(d.sync_seconds) * 1000).toISOString();
        if (!await this.ctx.store.directories.claimDue(d.id, nowIso, next)) continue;
        await this.sync(d.id, null).catch((err) => this.log.error({ err, directory: d.name }, 'directory sync failed'));
      }
    } catch (err) {
      this.log.error({ err }, 'looking for directories to sync failed');
    } finally {
      this.ticking = false;
    }
  }
}
