// Server-sent events for the admin console: GET /v1/admin/events tells open
// consoles which devices reported or had their entitlement changed (`devices`),
// and which user groups and people had their members or licence changed
// (`users`), so a page re-reads only the rows it shows instead of polling.
// Both carry ids and sign-in names only, which every admin, readers included,
// may read anyway (GET /user-groups lists the members).
//
// Authentication: the same `Authorization: Bearer <admin token>` as every
// other admin route, and no `?token=`. The console reads the stream with
// fetch() and a streamed body instead of EventSource (which cannot send
// headers). A token in a URL ends up in reverse-proxy access logs, browser
// history and devtools exports, and an admin token is a long-lived
// credential; fetch streaming works in every browser the console supports,
// and the console does its own reconnecting. Readers may listen (it is a GET).
import type { ServerResponse } from 'node:http';
import type { AnyApp } from './app.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { LicensingContext } from '../licensing/context.ts';
import { authenticateAdmin } from '../licensing/access.ts';
import { StreamQuota, type StreamCaps, type StreamOwner } from './stream-quota.ts';

/** Thousands of devices reporting at once become one event per window, not thousands. */
const COALESCE_MS = 250;
/** Past this many ids an event says "everything may have changed": a page then re-reads what it shows. */
const MAX_IDS = 500;
/** A comment line now and then keeps proxies and NAT from dropping an idle stream. */
const HEARTBEAT_MS = 20_000;
/**
 * Consoles are few; the caps stop a stuck client or a script from holding
 * unbounded sockets. Per token (a person's tabs) and per role, so readers
 * cannot use up the streams global-admins need (see stream-quota.ts).
 */
export const STREAM_CAPS: StreamCaps = { perToken: 8, perRole: 100 };

export interface DevicesEvent { reported: string[]; changed: string[]; all: boolean }
/** User groups whose people or licence changed (or that were created), and people whose licence answer changed. */
export interface UsersEvent { groups: string[]; people: string[]; all: boolean }

export class AdminEvents {
  private readonly streams = new Set<ServerResponse>();
  /** The admin each stream was opened with: a revoked token's streams are closed (closeFor). */
  private readonly owners = new Map<ServerResponse, string>();
  private reported = new Set<string>();
  private changed = new Set<string>();
  private overflow = false;
  private groups = new Set<string>();
  private people = new Set<string>();
  private usersOverflow = false;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  readonly quota: StreamQuota;

  constructor(caps: StreamCaps = STREAM_CAPS) {
    this.quota = new StreamQuota(caps);
  }

  get size(): number { return this.streams.size; }

  deviceReported(deviceId: string): void {
    this.reported.add(deviceId);
    this.schedule();
  }

  /** 'all': this replica cannot tell which devices changed (another replica's notice was missed). */
  entitlementsChanged(deviceIds: readonly string[] | 'all'): void {
    if (deviceIds === 'all' || deviceIds.length > MAX_IDS) this.overflow = true;
    else for (const id of deviceIds) this.changed.add(id);
    this.schedule();
  }

  /** 'all': not known which (another replica's notice was missed). */
  userGroupsChanged(groupIds: readonly string[] | 'all'): void {
    if (groupIds === 'all' || groupIds.length > MAX_IDS) this.usersOverflow = true;
    else for (const id of groupIds) this.groups.add(id);
    this.schedule();
  }

  /** People (normalised sign-in names) whose user-licence answer changed; 'all' when not known. */
  peopleChanged(users: readonly string[] | 'all'): void {
    if (users === 'all' || users.length > MAX_IDS) this.usersOverflow = true;
    else for (const u of users) this.people.add(u);
    this.schedule();
  }

  /** Takes over a hijacked response as an event stream; the caller has checked quota.refusal(owner). */
  open(res: ServerResponse, owner: StreamOwner, hello: Record<string, unknown>): void {
    const release = this.quota.take(owner);
    // Heartbeats keep a live stream busy; one silent for three of them is gone.
    res.setTimeout(HEARTBEAT_MS * 3);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'keep-alive',
    });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    this.streams.add(res);
    this.owners.set(res, owner.id);
    res.once('close', () => { this.streams.delete(res); this.owners.delete(res); release(); });
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.write(': ping\n\n'), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  /** Ends the streams of one admin (its token was revoked); returns how many. */
  closeFor(adminId: string): number {
    let n = 0;
    for (const [res, owner] of this.owners) {
      if (owner !== adminId) continue;
      this.streams.delete(res);
      this.owners.delete(res);
      res.end();
      n++;
    }
    return n;
  }

  /** The admins with a stream open (to check which were revoked when that is not known). */
  openOwners(): string[] {
    return [...new Set(this.owners.values())];
  }

  /** Ends every stream so that the server can close (open streams would hold it). */
  closeAll(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.timer = this.heartbeat = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  private schedule(): void {
    if (this.timer || this.streams.size === 0) {
      // Nobody listening: nothing to keep.
      if (this.streams.size === 0) this.reset();
      return;
    }
    this.timer = setTimeout(() => this.flush(), COALESCE_MS);
    this.timer.unref();
  }

  private reset(): void {
    this.reported.clear();
    this.changed.clear();
    this.overflow = false;
    this.groups.clear();
    this.people.clear();
    this.usersOverflow = false;
  }

  /** One event of each kind that has news in this window (a user change alone sends no `devices` event). */
  private flush(): void {
    this.timer = null;
    let out = '';
    if (this.overflow || this.reported.size + this.changed.size > 0) {
      const all = this.overflow || this.reported.size + this.changed.size > MAX_IDS;
      const ev: DevicesEvent = { reported: all ? [] : [...this.reported], changed: all ? [] : [...this.changed], all };
      out += `event: devices\ndata: ${JSON.stringify(ev)}\n\n`;
    }
    if (this.usersOverflow || this.groups.size + this.people.size > 0) {
      const all = this.usersOverflow || this.groups.size + this.people.size > MAX_IDS;
      const ev: UsersEvent = { groups: all ? [] : [...this.groups], people: all ? [] : [...this.people], all };
      out += `event: users\ndata: ${JSON.stringify(ev)}\n\n`;
    }
    this.reset();
    if (out) this.write(out);
  }

  private write(chunk: string): void {
    for (const s of this.streams) s.write(chunk);
  }
}

export async function adminEventRoutes(app: AnyApp, deps: { ctx: LicensingContext; events: AdminEvents }): Promise<void> {
  app.get('/events', { schema: { tags: ['admin'], security: [{ admin: [] }], description: 'Server-sent events: `devices` with the ids of devices that reported or whose entitlement changed; `users` with the user groups whose people or licence changed and the people whose licence answer changed.' } },
    async (req, reply) => {
      const h = req.headers.authorization;
      if (!h || !h.startsWith('Bearer ')) throw new DevlicError('UNAUTHENTICATED', 'missing admin token: send Authorization: Bearer <token>');
      const actor = await authenticateAdmin(deps.ctx, h.slice(7).trim());
      if (!actor) throw new DevlicError('UNAUTHENTICATED', 'admin token is not valid for this service');
      const refused = deps.events.quota.refusal(actor);
      if (refused) throw new DevlicError('RATE_LIMITED', refused);
      reply.hijack();
      deps.events.open(reply.raw, actor, { role: actor.role });
    });
  app.addHook('preClose', async () => deps.events.closeAll());
}
