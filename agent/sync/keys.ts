// After the service rotated its signing key, the agent meets a token whose
// kid it has not pinned. It then fetches the service's key set, walks the
// chain of endorsements forward from its newest pinned key
// (shared/keychain.ts) and pins what that proves, in identity.json (atomic,
// 0600): no re-enrollment. The key set itself travels unauthenticated; only
// the signatures in the chain count, so a key that no pinned key endorses -
// from a proxy, a DNS hijack or a stolen TLS certificate - is refused, logged,
// and the token it signed stays untrusted (the device keeps what it had).
// Old keys stay pinned so that tokens they signed verify until they expire.
import { API } from '../../shared/api.ts';
import { extendPins } from '../../shared/keychain.ts';
import { isDevlicError } from '../../shared/errors.ts';
import { KeySet } from '../../shared/schemas/keys.ts';
import { isValid } from '../../shared/validate.ts';
import type { Logger } from '../../shared/log.ts';
import { ServiceError, type HttpClient } from './client.ts';
import type { Clock } from '../decision/clock.ts';
import type { AgentPaths } from '../config.ts';
import type { Store } from '../store/store.ts';
import { readIdentity, writeIdentity, type StoredIdentity } from '../store/files.ts';

/** identity.json keeps at most this many keys (the JWKS schema's limit); the oldest go first. */
const MAX_PINNED = 16;

export interface KeyContext {
  paths: AgentPaths;
  identity: StoredIdentity;
  store: Store;
  http: HttpClient;
  clock: Clock;
  log: Logger;
}

export async function fetchKeySet(http: HttpClient, nowMs: number): Promise<KeySet> {
  const a = await http.send('GET', API.keySet);
  if (a.status !== 200) throw http.errorOf(a, nowMs);
  if (!isValid(KeySet, a.body)) throw new ServiceError('protocol', 200, 'BAD_RESPONSE', 'key set answer does not match the protocol');
  return a.body;
}

/**
 * Tries to trust signing key `kid` through the service's published chain.
 * True when it is pinned now. A refused chain is logged and recorded and
 * returns false; a failure to fetch the key set throws (ServiceError), like
 * any other failed request, so the caller backs off as usual.
 */
export async function learnKey(ctx: KeyContext, kid: string): Promise<boolean> {
  const set = await fetchKeySet(ctx.http, ctx.clock.now());
  const now = ctx.clock.now();
  let added;
  try {
    if (set.issuer !== ctx.identity.issuer) {
      throw new Error(`the key set is for issuer ${set.issuer}, not ${ctx.identity.issuer}`);
    }
    added = await extendPins({ pinned: ctx.identity.keys.keys, issuer: ctx.identity.issuer, links: set.chain, want: kid });
  } catch (e) {
    const reason = isDevlicError(e) ? String(e.details?.reason ?? e.code) : 'ISSUER_MISMATCH';
    const message = (e as Error).message;
    ctx.store.addEvent(now, 'key-rejected', reason, { kid, message });
    ctx.log.error({ kid, reason }, `signing key ${kid} refused, tokens it signed stay untrusted: ${message}`);
    return false;
  }
  pin(ctx, added);
  ctx.store.addEvent(now, 'keys', 'KEY_PINNED', { kids: added.map((k) => k.kid) });
  ctx.log.info({ kids: added.map((k) => k.kid) }, 'pinned the service\'s new signing key(s), endorsed by a key already pinned');
  return true;
}

function pin(ctx: KeyContext, added: StoredIdentity['keys']['keys']): void {
  const merge = (keys: StoredIdentity['keys']['keys']) => {
    const have = new Set(keys.map((k) => k.kid));
    return { keys: [...keys, ...added.filter((k) => !have.has(k.kid))].slice(-MAX_PINNED) };
  };
  const onDisk = readIdentity(ctx.paths.identity);
  // Only into the enrollment the chain was checked against: an `enroll` may have just replaced it.
  if (onDisk && onDisk.deviceId === ctx.identity.deviceId && onDisk.enrolledAt === ctx.identity.enrolledAt) {
    writeIdentity(ctx.paths.identity, { ...onDisk, keys: merge(onDisk.keys.keys) });
  }
  // A new object: pinnedKeys() caches the imported keys per `keys` object.
  ctx.identity.keys = merge(ctx.identity.keys.keys);
}
