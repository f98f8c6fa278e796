// The daemon's long-lived parts (control socket, sign-in watcher, scheduler,
// poll loop...) share one shape, {name, start, stop}: started in the order of
// a list, stopped in reverse, so a part never outlives what it depends on and
// a new part is one more entry. A part that fails to start stops the ones
// already running before the error goes on; a part that fails to stop is
// logged and the others still stop.
import type { Logger } from '../../shared/log.ts';

export interface Subsystem {
  readonly name: string;
  start(): unknown;
  stop(): unknown;
}

export class Lifecycle {
  private readonly running: Subsystem[] = [];
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  async start(parts: readonly Subsystem[]): Promise<void> {
    for (const p of parts) {
      try {
        await p.start();
      } catch (e) {
        await this.stop();
        throw e;
      }
      this.running.push(p);
    }
  }

  /** Stops what was started, last first; resolves when all have stopped. */
  async stop(): Promise<void> {
    let first: unknown = null;
    for (let p = this.running.pop(); p; p = this.running.pop()) {
      try {
        await p.stop();
      } catch (e) {
        this.log.error({ subsystem: p.name, err: e }, 'stopping a part of the agent failed');
        first ??= e;
      }
    }
    if (first) throw first;
  }
}
