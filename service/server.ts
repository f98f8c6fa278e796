// Starts the licensing service, in a fixed order: data folder, database
// (migrations), catalogue, signing key, bootstrap admin, licensing core,
// HTTP routes, listening socket, timers (directory syncs among them). stop() undoes it in reverse.
// prepareOnce is the one-off first part alone, for the primary of `serve --workers N`.
import { mkdirSync, chmodSync, readFileSync } from 'node:fs';
import { API } from '../shared/api.ts';
import { DevlicError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { Registry } from 'prom-client';
import type { ServerConfig } from './config.ts';
import { parseListen, retireStaleSeconds } from './config.ts';
import { retireStaleDevices } from './licensing/lifecycle.ts';
import { openStore, type OpenedStore } from './store/open.ts';
import type { Store } from './store/store.ts';
import { seedCatalogue } from './licensing/catalogue.ts';
import { LicensingContext, SYSTEM_ACTOR } from './licensing/context.ts';
import { bootstrapAdmin } from './licensing/access.ts';
import { EntitlementIssuer } from './licensing/entitlements.ts';
import { loadOrCreateKeys, writeAdminToken } from './keys.ts';
import { SigningPool, signingThreads } from './signing/pool.ts';
import { connectionBudgetProblem } from './workers.ts';
import { createBaseApp, registerPlugins } from './http/app.ts';
import { deviceRoutes } from './http/device-routes.ts';
import { rawLongPollAnswers } from './http/raw-answer.ts';
import { adminRoutes } from './http/admin-routes.ts';
import { DeviceAuthenticator } from './http/device-auth.ts';
import { signMergeNotice } from '../shared/device-proofs.ts';
import { createMetrics } from './http/metrics.ts';
import { Waiters } from './http/waiters.ts';
import { userDeviceRoutes, WAITS_PER_PERSON } from './http/user-device-routes.ts';
import { UserEntitlementIssuer } from './licensing/user-entitlements.ts';
import { AdminEvents, adminEventRoutes } from './http/admin-events.ts';
import { consoleRoutes } from './http/console-routes.ts';
import { effectiveLimits, openFileLimit, serverTimeouts } from './http/connection-limits.ts';
import { createHealthCheck } from './http/health.ts';
import { DirectorySyncer } from './directories/scheduler.ts';
import { passwordBox } from './directories/secret.ts';

export interface RunningServer {
  url: string;
  /** The store the service runs on (closed by stop()). */
  db: Store;
  ctx: LicensingContext;
  bootstrapToken: string | null;
  stop(): Promise<void>;
}

// Checking for ended terms is one indexed query; once a second keeps expiry as prompt as any other change.
const TERM_CHECK_MS = 1_000;
// Stale means days without a report: a check every few seconds is prompt enough and costs one indexed query.
const STALE_CHECK_MS = 5_000;

/** What a cluster worker (cluster-worker.ts) changes in a replica; a lone process uses none of it. */
export interface ServeHooks {
  /** The start-up log line's message (a worker: 'worker listening'; the primary logs the usual line once). */
  listeningMessage?: string;
  /** Fields added to every /healthz answer (a worker's id, so an operator sees which process answered). */
  healthFields?: Record<string, unknown>;
  /** Given this process's registry, what /metrics answers instead of it (a worker: the whole host's, from the primary). */
  metrics?: (own: Registry) => () => Promise<string>;
}

/**
 * The first steps of every start, a lone replica's and the cluster primary's
 * alike: the signing-thread setting checked before anything is created (as
 * the other settings are), the data folder made 0700, the database opened
 * (migrations run).
 */
async function openDataAndStore(cfg: ServerConfig, log: Logger): Promise<{ signingThreadCount: number; opened: OpenedStore }> {
  const signingThreadCount = signingThreads(process.env, cfg.workers);
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(cfg.dataDir, 0o700);
  return { signingThreadCount, opened: await openStore(cfg, log) };
}

export async function startServer(cfg: ServerConfig, log: Logger, now: () => number = Date.now, hooks: ServeHooks = {}): Promise<RunningServer> {
  const { signingThreadCount, opened } = await openDataAndStore(cfg, log);
  try {
    return await serveOn(opened, cfg, log, now, signingThreadCount, hooks);
  } catch (e) {
    // A pool of PostgreSQL connections left open would keep the failed process alive.
    await opened.store.close().catch(() => {});
    throw e;
  }
}

/**
 * What a site needs once before anything serves: the catalogue, the signing
 * keys (made on the first start) and the bootstrap admin (its token written
 * to the data folder, and shown once at a terminal). Idempotent: a replica
 * started later finds all of it and changes nothing.
 */
async function prepareSite(ctx: LicensingContext, keyring: OpenedStore['keyring'], cfg: ServerConfig, log: Logger) {
  await seedCatalogue(ctx.store, ctx.nowIso());
  const keys = await loadOrCreateKeys(keyring);
  const boot = await bootstrapAdmin(ctx);
  if (boot) {
    const file = writeAdminToken(cfg.dataDir, boot.token);
    // Shown once (the database keeps only its hash), and only to a person at
    // a terminal: under systemd or launchd stderr goes to the journal, which
    // more people can read than the 0600 file.
    // Elsewhere a log line (warn: someone must fetch it), so the journal gets JSON only.
    if (process.stderr.isTTY) process.stderr.write(`\nFirst start: bootstrap global-admin token (also written to ${file}, mode 0600):\n\n  ${boot.token}\n\n`);
    else log.warn({ file }, `first start: bootstrap global-admin token written to ${file} (mode 0600); it is not printed because stderr is not a terminal`);
  }
  return { keys, boot };
}

/**
 * The cluster primary's one-off start-up work before it forks workers
 * (cluster-primary.ts): the data folder, the database and its migrations,
 * prepareSite; then the database is closed again, the primary holds none.
 * Workers starting together therefore never race to make the site key or
 * the bootstrap admin.
 */
export async function prepareOnce(cfg: ServerConfig, log: Logger, now: () => number = Date.now): Promise<{ database: string }> {
  // The workers check the signing-thread setting again; the primary only refuses a bad one before forking.
  const { opened } = await openDataAndStore(cfg, log);
  try {
    await prepareSite(new LicensingContext(opened.store, now), opened.keyring, cfg, log);
    if (cfg.database) {
      const s = await opened.db.get<{ max: string; reserved: string }>(
        "SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS reserved");
      const problem = s && connectionBudgetProblem(cfg.workers, cfg.databasePoolSize, Number(s.max), Number(s.reserved));
      // A warning, not a refusal: connections are opened as needed, and a pool rarely fills.
      if (problem) log.warn({ workers: cfg.workers, databasePoolSize: cfg.databasePoolSize, maxConnections: Number(s.max) }, problem);
    }
    return { database: opened.describe };
  } finally {
    await opened.store.close();
  }
}

async function serveOn({ store: db, keyring, describe: database }: OpenedStore, cfg: ServerConfig, log: Logger, now: () => number, signingThreadCount: number, hooks: ServeHooks): Promise<RunningServer> {
  const ctx = new LicensingContext(db, now);
  const { keys, boot } = await prepareSite(ctx, keyring, cfg, log);
  await ctx.refresh(undefined, { users: true });

  const limits = effectiveLimits(cfg, openFileLimit());
  if (limits.loweredFrom) {
    log.warn({ ...limits.loweredFrom, maxConnections: limits.maxConnections, maxLongPolls: limits.maxLongPolls },
      'maxConnections is above what the open-file limit allows: lowered (raise LimitNOFILE / ulimit -n to keep the configured value)');
  }
  const timeouts = serverTimeouts(cfg);
  const waiters = new Waiters({ maxTotal: limits.maxLongPolls });
  const events = new AdminEvents();
  ctx.onEntitlementsChanged((ids) => events.entitlementsChanged(ids));
  // Per-user licences (issue 16): consoles hear of user groups and people too, from every replica's commits.
  ctx.onUserGroupsChanged((ids) => events.userGroupsChanged(ids));
  ctx.onUserEntitlementsChanged((users) => events.peopleChanged(users));
  // Per-user licences (issue 16): long-polls keyed by person.
  const userWaiters = new Waiters({ maxTotal: limits.maxLongPolls, maxPerDevice: WAITS_PER_PERSON });
  const metrics = createMetrics(db, waiters, userWaiters);
  const signer = await SigningPool.start({ key: keys.signing, log, threads: signingThreadCount });
  const issuer = new EntitlementIssuer(db, keys.signing, {
    issuer: keys.issuer,
    offlineValiditySeconds: Math.round(cfg.offlineValidityDays * 86400),
    warnBeforeExpirySeconds: Math.round(cfg.warnBeforeExpiryDays * 86400),
    refreshAfterSeconds: Math.round(cfg.refreshAfterHours * 3600),
    reissueAfterSeconds: Math.round(cfg.reissueAfterHours * 3600),
  }, signer);
  // Order matters: the issuer forgets the old seq before any waiting agent is woken to read it.
  ctx.onEntitlementsChanged((ids) => {
    issuer.invalidate(ids);
    if (ids === 'all') waiters.notifyAll();
    else waiters.notify(ids);
  });
  const https = cfg.tlsCert && cfg.tlsKey ? { cert: readFileSync(cfg.tlsCert), key: readFileSync(cfg.tlsKey) } : undefined;
  const app = createBaseApp({ logger: log, bodyLimit: cfg.adminBodyLimit, metrics, https, timeouts, trustProxy: cfg.trustProxy });
  // Past it Node closes new connections at once, before any file runs out: see connection-limits.ts.
  app.server.maxConnections = limits.maxConnections;
  await registerPlugins(app);
  // A primary-key lookup that finds nothing: the cheapest round trip the store offers.
  const health = createHealthCheck({ probe: () => db.ping() });
  const healthFields = hooks.healthFields ?? {};
  app.get(API.health, { schema: { hide: true } }, async (_req, reply) => {
    const h = await health();
    if (!h.ok) reply.code(503);
    return { ...h, ...healthFields };
  });
  const metricsText = hooks.metrics ? hooks.metrics(metrics.registry) : () => metrics.registry.metrics();
  app.get(API.metrics, { schema: { hide: true } }, async (_req, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metricsText();
  });
  const auth = new DeviceAuthenticator(db, (retiredId, mergedInto) => signMergeNotice(keys.signing, keys.issuer, retiredId, mergedInto, Math.floor(now() / 1000)));
  await app.register(deviceRoutes, {
    ctx, keys, issuer, waiters, auth,
    maxWaitSeconds: cfg.maxWaitSeconds, enrollPerMinute: cfg.enrollPerMinute, bodyLimit: cfg.deviceBodyLimit,
    idleTimeoutMs: timeouts.idleTimeoutMs,
    onReport: (id) => events.deviceReported(id),
    rawAnswers: rawLongPollAnswers(),
  });
  // Keys changed and access revoked on any replica: what this one caches about them goes.
  ctx.onAccessChanged((ids, kind) => {
    if (kind === 'device-key') {
      if (ids === 'all') auth.forgetAll();
      else for (const id of ids) auth.forget(id);
    } else if (ids !== 'all') {
      for (const id of ids) events.closeFor(id);
    } else {
      for (const id of events.openOwners()) {
        db.access.adminById(id).then((a) => { if (!a || a.revoked_at) events.closeFor(id); },
          (err) => log.warn({ err }, 'could not check an event stream\'s admin'));
      }
    }
  });
  // Per-user licences (issue 16): the same keys and token policy as devices.
  const userIssuer = new UserEntitlementIssuer(db, keys.signing, issuer.policyOf());
  ctx.onUserEntitlementsChanged((users) => {
    if (users === 'all') userWaiters.notifyAll();
    else {
      userWaiters.notify(users);
      // `@domain` (never a sign-in name): a sign-in domain alias changed, so may the person behind any name in it.
      for (const u of users) if (u.startsWith('@')) userWaiters.notifySuffix(u);
    }
  });
  await app.register(userDeviceRoutes, {
    ctx, issuer: userIssuer, auth, waiters: userWaiters, maxWaitSeconds: cfg.maxWaitSeconds, bodyLimit: cfg.deviceBodyLimit, idleTimeoutMs: timeouts.idleTimeoutMs,
  });
  app.addHook('preClose', async () => userWaiters.releaseAll());
  // Directory groups: bind passwords sealed with this data folder's site key.
  const directories = new DirectorySyncer(ctx, passwordBox(cfg.dataDir), log);
  await app.register(adminRoutes, { prefix: API.admin, ctx, events, directories });
  await app.register(adminEventRoutes, { prefix: API.admin, ctx, events });
  await app.register(consoleRoutes);
  app.addHook('preClose', async () => waiters.releaseAll());

  const { host, port } = parseListen(cfg.listen);
  try {
    // An accept queue as long as maxConnections (the kernel caps it at net.core.somaxconn), not Node's 511: in a
    // reconnect storm each SYN dropped past the queue costs that agent TCP's 1, 3, 7, 15 s retry (bench/reconnect-storm.ts).
    await app.listen({ host, port, backlog: limits.maxConnections });
  } catch (e) {
    await app.close();
    await signer.stop();
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the address is in use (another devlic-server?)'
      : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
      : code === 'EADDRNOTAVAIL' ? 'this computer has no such address' : (e as Error).message;
    throw new DevlicError('CONFIG_INVALID', `cannot listen on ${cfg.listen}: ${why}`);
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;

  // A subscription's term ending changes entitlements with no admin action.
  let lastCheck = new Date(now()).toISOString();
  // One check at a time: a slow one (a big recompute) is not overtaken by the next tick.
  let termChecking = false;
  const termCheck = async () => {
    const at = new Date(now()).toISOString();
    const crossed = await db.subscriptions.termsEndedBetween(lastCheck, at);
    lastCheck = at;
    if (crossed > 0) {
      const changed = await ctx.refresh(async (tx) => {
        await tx.audit.insert({ at, actorId: SYSTEM_ACTOR.id, actorName: SYSTEM_ACTOR.name, action: 'subscription.term-ended', target: 'subscriptions', details: { count: crossed } });
      }, { users: true });
      log.info({ subscriptions: crossed, devicesChanged: changed.length }, 'subscription term ended');
    }
  };
  const termTimer = setInterval(() => {
    if (termChecking) return;
    termChecking = true;
    termCheck().catch((e) => log.error({ err: e }, 'checking for ended subscription terms failed')).finally(() => { termChecking = false; });
  }, TERM_CHECK_MS);
  termTimer.unref();

  // Stale devices: retired (as the system actor) once not seen for retireStaleAfter; the check is one indexed query.
  const staleSeconds = retireStaleSeconds(cfg.retireStaleAfter);
  let staleTimer: NodeJS.Timeout | null = null;
  if (staleSeconds !== null) {
    let checking = false;
    const check = async () => {
      if (checking) return;
      checking = true;
      try {
        const ids = await retireStaleDevices(ctx, staleSeconds * 1000);
        if (ids.length > 0) log.info({ devices: ids.length, retireStaleAfter: cfg.retireStaleAfter }, 'retired stale devices');
      } catch (e) {
        log.error({ err: e }, 'retiring stale devices failed');
      } finally {
        checking = false;
      }
    };
    await check();
    staleTimer = setInterval(check, STALE_CHECK_MS);
    staleTimer.unref();
  }
  directories.start();
  log.info({
    url, dataDir: cfg.dataDir, database, maxConnections: limits.maxConnections, maxLongPolls: limits.maxLongPolls,
    signingKey: keys.signing.kid, publishedKeys: keys.jwks.keys.map((k) => k.kid), retireStaleAfter: cfg.retireStaleAfter,
  }, hooks.listeningMessage ?? 'devlic-server listening');

  return {
    url, db, ctx, bootstrapToken: boot?.token ?? null,
    async stop() {
      clearInterval(termTimer);
      if (staleTimer) clearInterval(staleTimer);
      await directories.stop();
      await app.close();
      await signer.stop();
      await db.close();
    },
  };
}
