// The running agent's link to the service for the identity on disk: the HTTP
// client, the device's long-poll loop and the per-user licence long-polls
// (issue 16). Rebuilt from identity.json at start, on `reload` and when the
// safety net finds the file changed; an agent that is not enrolled (or is
// revoked) has no link at all.
import type { Logger } from '../../shared/log.ts';
import type { AgentConfig, AgentPaths } from '../config.ts';
import type { Clock } from '../decision/clock.ts';
import type { Store } from '../store/store.ts';
import { readIdentity, type StoredIdentity } from '../store/files.ts';
import type { HttpClient } from '../sync/client.ts';
import type { DeviceApi } from '../sync/device-api.ts';
import { connect } from '../sync/connect.ts';
import { syncOnce, type SyncOutcome } from '../sync/sync.ts';
import { Poller } from '../sync/poll.ts';
import { UserSync } from '../sync/user-sync.ts';
import { signInNames } from '../decision/evaluate-users.ts';
import { readLearnedHold, writeLearnedHold } from '../store/hold-file.ts';

export interface ServiceLinkOptions {
  cfg: AgentConfig;
  paths: AgentPaths;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Who is signed in now (the session watcher's view). */
  signedIn: () => string[];
  /** Each device sync's outcome (decides and applies). */
  onSync: (o: SyncOutcome) => Promise<void>;
  /** A signed-in person's licence changed. */
  onUserLicence: () => void;
}

export class ServiceLink {
  identity: StoredIdentity | null = null;
  http: HttpClient | null = null;
  api: DeviceApi | null = null;
  poller: Poller | null = null;
  /** One user-licence long-poll per signed-in person; null when not connected. */
  userSync: UserSync | null = null;
  private readonly o: ServiceLinkOptions;

  constructor(o: ServiceLinkOptions) {
    this.o = o;
  }

  /** (Re)reads identity.json and (re)builds the client and poll loop to match. */
  async load(): Promise<void> {
    const { cfg, paths, store, clock, log } = this.o;
    let identity: StoredIdentity | null = null;
    try {
      identity = readIdentity(paths.identity);
    } catch (e) {
      log.error({ err: e }, 'identity unreadable; acting as not enrolled');
      store.addEvent(clock.now(), 'error', 'IDENTITY_UNREADABLE', { error: (e as Error).message });
    }
    await this.poller?.stop();
    this.userSync?.stop();
    this.userSync = null;
    await this.http?.close().catch(() => undefined);
    this.poller = null;
    this.http = null;
    this.api = null;
    this.identity = identity;
    if (!identity || identity.revoked) return;
    try {
      ({ http: this.http, api: this.api } = connect(cfg, identity, paths.deviceKey, clock));
    } catch (e) {
      log.error({ err: e }, 'cannot set up the connection to the service');
      store.addEvent(clock.now(), 'error', 'CLIENT_SETUP_FAILED', { error: (e as Error).message });
      return;
    }
    const ctx = { paths, identity, store, api: this.api, clock, log };
    const origin = this.http.base.origin;
    const poller = new Poller({
      waitSeconds: cfg.waitSeconds, maxWaitSeconds: cfg.maxWaitSeconds, growAfterSeconds: cfg.waitGrowAfterSeconds, log,
      sync: (o) => syncOnce(ctx, o),
      onOutcome: (o) => this.o.onSync(o),
      setNextSync: (at) => store.setNextSync(at),
      learned: readLearnedHold(paths.longPollHold, origin),
      onLearned: (l) => writeLearnedHold(paths.longPollHold, origin, l),
    });
    this.poller = poller;
    // The per-person long-polls hold as long as the device's has been seen to last on this network.
    this.userSync = new UserSync({
      api: this.api, identity, store, paths, clock, log, waitSeconds: cfg.waitSeconds,
      holdSeconds: () => poller.provenHoldSeconds(),
      onChange: this.o.onUserLicence,
    });
    this.userSync.setUsers(signInNames(this.o.signedIn()).names);
  }
}
