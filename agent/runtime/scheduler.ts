// Periodic work on node-cron: the safety-net refresh, the status report, the
// expiry check and log pruning. Each job runs without overlapping itself;
// jobs that talk to the service get a random delay so a fleet of devices does
// not arrive at the same second.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../../shared/log.ts';

export interface Job {
  name: string;
  schedule: string;
  /** Up to this many ms of random delay per run (spreads a fleet's requests). */
  jitterMs?: number;
  run: () => Promise<void>;
}

export class Scheduler {
  readonly name = 'scheduler';
  private readonly tasks: ScheduledTask[] = [];
  private readonly log: Logger;

  constructor(jobs: Job[], log: Logger) {
    this.log = log;
    for (const job of jobs) {
      const task = cron.createTask(job.schedule, async () => {
        try {
          await job.run();
        } catch (e) {
          log.error({ job: job.name, err: e }, 'scheduled job failed');
        }
      }, { name: job.name, noOverlap: true, maxRandomDelay: job.jitterMs ?? 0 });
      this.tasks.push(task);
    }
  }

  start(): void {
    for (const t of this.tasks) void t.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((t) => t.destroy()));
  }

  /** Next run of each job, for `status`. */
  nextRuns(): Record<string, string | null> {
    return Object.fromEntries(this.tasks.map((t) => [t.name ?? t.id, t.getNextRun()?.toISOString() ?? null]));
  }
}
