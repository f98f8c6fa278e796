// Keeps each signed-in person's user entitlement (issue 16) fresh: one
// long-poll loop per person, started at sign-in and stopped at sign-out.
// The first request of a loop asks at once (poll-on-sign-in); later ones send
// the seq held and wait, so the service answers the moment that person's
// licence changes (service/http/user-device-routes.ts) or when the wait ends
// (a fresh token, which moves the offline window on). Each answer is
// verified against the pinned keys and the person's watermark before it is
// stored; the daemon is then told to decide again. Failures back off with
// jitter; the person's loop counts as offline until it succeeds again.
import { ENTITLEMENT_AUDIENCE } from '../../shared/api.ts';
import { Backoff } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/log.ts';
import { verifyUserEntitlement } from '../../shared/user-token.ts';
import type { AgentPaths } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import { pinnedKeys, readUserWatermarks, writeUserWatermarks, type StoredIdentity } from '../store/files.ts';
import type { Store } from '../store/store.ts';
import type { DeviceApi } from './device-api.ts';

export interface UserSyncOptions {
  api: DeviceApi;
  identity: StoredIdentity;
  store: Store;
  paths: AgentPaths;
  clock: Clock;
  log: Logger;
  waitSeconds: number;
  /** The hold to ask for when known to work (the device's learned hold, hold.ts); else waitSeconds. */
  holdSeconds?: () => number;
  /** A person's stored token or online state changed: decide again. */
  onChange: (user: string) => void;
}

export class UserSync {
  private readonly o: UserSyncOptions;
  private readonly loops = new Map<string, AbortController>();
  private readonly offline = new Set<string>();
  private stopped = false;

  constructor(o: UserSyncOptions) {
    this.o = o;
  }

  /** Whether the last request about this person reached the service (false: offline for them). */
  isOnline(user: string): boolean {
    return !this.offline.has(user);
  }

  /** Starts loops for people newly signed in and stops those of people gone. */
  setUsers(users: readonly string[]): void {
    if (this.stopped) return;
    const want = new Set(users);
    for (const [u, ac] of this.loops) if (!want.has(u)) { ac.abort(); this.loops.delete(u); this.offline.delete(u); }
    for (const u of want) {
      if (this.loops.has(u)) continue;
      const ac = new AbortController();
      this.loops.set(u, ac);
      void this.loop(u, ac.signal);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const ac of this.loops.values()) ac.abort();
    this.loops.clear();
  }

  private async loop(user: string, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000 });
    let first = true;
    while (!signal.aborted) {
      try {
        const held = this.o.store.getUserEntitlement(user);
        const seq = !first && held && held.deviceId === this.o.identity.deviceId ? held.seq : undefined;
        const a = await this.o.api.userEntitlement(user, { seq, waitSeconds: this.o.holdSeconds?.() ?? this.o.waitSeconds, signal });
        if (signal.aborted) return;
        await this.accept(user, a.token);
        first = false;
        backoff.reset();
        this.offline.delete(user);
        // Also when nothing changed: a fresh token moves the offline window, and deciding again is cheap.
        this.o.onChange(user);
      } catch (e) {
        if (signal.aborted) return;
        if (!this.offline.has(user)) {
          this.offline.add(user);
          this.o.log.warn({ user, err: (e as Error).message }, 'user licence not fetched; deciding for this person offline');
          this.o.onChange(user);
        }
        await abortableDelay(backoff.next(), signal);
      }
    }
  }

  private accept(user: string, token: string): Promise<void> {
    return acceptUserToken(this.o, user, token);
  }
}

/**
 * Verifies and stores a person's token (the daemon's loops and the one-shot
 * `refresh`); a replay (seq below the person's watermark) or a token for
 * someone else is refused.
 */
export async function acceptUserToken(o: Pick<UserSyncOptions, 'identity' | 'store' | 'paths' | 'clock'>, user: string, token: string): Promise<void> {
  const { identity, store, paths, clock } = o;
  const claims = await verifyUserEntitlement(token, {
    keys: pinnedKeys(identity), deviceId: identity.deviceId, issuer: identity.issuer, audience: ENTITLEMENT_AUDIENCE, user,
  });
  const wms = readUserWatermarks(paths.userWatermarks);
  const mine = wms && wms.deviceId === identity.deviceId ? wms : { deviceId: identity.deviceId, users: {} };
  const wm = mine.users[user];
  if (wm && claims.seq < wm.seq) throw new Error(`user entitlement seq ${claims.seq} for ${user} is older than accepted seq ${wm.seq}`);
  store.putUserEntitlement({ user, deviceId: identity.deviceId, seq: claims.seq, token, receivedAt: clock.now() });
  // Written when the seq grows: a re-signed token of the same seq needs no new watermark.
  if (!wm || claims.seq > wm.seq) {
    mine.users[user] = { seq: claims.seq, iatMs: Math.max(wm?.iatMs ?? 0, claims.iat * 1000) };
    writeUserWatermarks(paths.userWatermarks, mine);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
