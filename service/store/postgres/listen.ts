// The receiving half of the change fan-out: one dedicated connection per
// SqlDatabase that LISTENs on the changes channel and hands other replicas'
// announcements on. When the connection drops it reconnects with the
// project's backoff and then reports 'all', since notifications sent while
// it was away are lost for good.
import pg from 'pg';
import { Backoff } from '../../../shared/backoff.ts';
import type { Logger } from '../../../shared/log.ts';
import { CHANGE_KINDS, type ChangeKind, type Changed } from '../sql.ts';
import { decodeChanges } from './payload.ts';

export const CHANNEL = 'devlic_changes';

export interface ChangeListenerOptions {
  config: pg.ClientConfig;
  origin: string;
  emit: (ids: Changed, kind: ChangeKind) => void;
  log?: Logger;
  backoff?: { baseMs: number; maxMs: number };
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  /** Times the connection was re-established (for tests and metrics). */
  reconnects = 0;

  private readonly opts: ChangeListenerOptions;

  constructor(opts: ChangeListenerOptions) {
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff ?? { baseMs: 200, maxMs: 10_000 });
  }

  /** First connection: failures propagate, so a wrong URL fails at start-up. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Backend pid of the LISTEN connection (tests kill it with pg_terminate_backend). */
  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.opts.config, keepAlive: true });
    const ownPrefix = `{"origin":${JSON.stringify(this.opts.origin)},`;
    // Until LISTEN has succeeded, failures belong to connect()'s caller.
    let live = false;
    let dead: Error | true | undefined;
    let lost = false;
    const onLost = (err?: Error) => {
      dead ??= err ?? true;
      if (!live || lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      if (this.closed) return;
      this.opts.log?.warn({ err: err?.message }, 'database change listener disconnected; reconnecting');
      client.end().catch(() => {});
      this.schedule();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || msg.payload === undefined) return;
      // This replica's own announcements (encodeChanges writes the origin first): not parsed only to be dropped.
      if (msg.payload.startsWith(ownPrefix)) return;
      const p = decodeChanges(msg.payload);
      if (!p) {
        this.opts.log?.warn({ payload: msg.payload.slice(0, 200) }, 'ignoring a malformed change notification');
        return;
      }
      if (p.origin === this.opts.origin) return; // announced locally at commit already
      this.opts.emit(p.ids, p.kind);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (e) {
      client.end().catch(() => {});
      throw e;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    live = true;
    this.client = client;
    if (dead) onLost(dead === true ? undefined : dead); // dropped between LISTEN and here
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const delay = this.backoff.next();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(() => {
        if (this.closed) return;
        this.backoff.reset();
        this.reconnects++;
        this.opts.log?.info({ reconnects: this.reconnects }, 'database change listener reconnected');
        for (const kind of CHANGE_KINDS) this.opts.emit('all', kind);
      }, (err: Error) => {
        this.opts.log?.warn({ err: err.message, failures: this.backoff.failures }, 'database change listener cannot reconnect yet');
        this.schedule();
      });
    }, delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => {});
  }
}
