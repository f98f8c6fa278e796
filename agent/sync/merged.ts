// Following an admin's `devlic-admin devices merge NEW OLD`: this agent (the
// reinstalled machine, enrolled as NEW) holds the key that device OLD now
// has. The service answers its requests for NEW with DEVICE_MERGED and a
// notice signed by the service key naming OLD. Only a notice that verifies
// against the pinned keys and is about this device id is followed: an
// unsigned "you are now X" would let the network point the agent at another
// device's genuine entitlement.
import { rmSync } from 'node:fs';
import { verifyMergeNotice } from '../../shared/device-proofs.ts';
import { ServiceError } from './client.ts';
import type { SyncContext } from './sync.ts';
import { pinnedKeys, readIdentity, writeIdentity } from '../store/files.ts';

export function isMergeAnswer(e: unknown): e is ServiceError {
  return e instanceof ServiceError && e.kind === 'http' && e.status === 401 && e.code === 'DEVICE_MERGED';
}

/**
 * Moves this agent to the device id named by a verified merge notice: in
 * identity.json, in memory (the daemon and the API client share the
 * identity), and forgets the cached entitlement of the retired id. Returns
 * false (nothing changed) when the notice does not verify.
 */
export async function followMerge(ctx: SyncContext, e: ServiceError): Promise<boolean> {
  const from = ctx.identity.deviceId;
  let into: string;
  try {
    ({ mergedInto: into } = await verifyMergeNotice(e.details?.notice, { keys: pinnedKeys(ctx.identity), issuer: ctx.identity.issuer, deviceId: from }));
  } catch (err) {
    ctx.log.error({ err: (err as Error).message }, 'the service says this device was merged, but its notice does not verify; not following it');
    ctx.store.addEvent(ctx.clock.now(), 'merge-refused', 'TOKEN_INVALID', { error: (err as Error).message });
    return false;
  }
  const onDisk = readIdentity(ctx.paths.identity);
  // Only the enrollment this sync used: an `enroll` may have just replaced it.
  if (!onDisk || onDisk.deviceId !== from || onDisk.enrolledAt !== ctx.identity.enrolledAt) return false;
  writeIdentity(ctx.paths.identity, { ...onDisk, deviceId: into });
  ctx.identity.deviceId = into;
  ctx.api.useDeviceId(into);
  const now = ctx.clock.now();
  ctx.store.tx(() => {
    // The cached token is for the retired id: it can never be valid for this one.
    ctx.store.clearEntitlement();
    ctx.store.addEvent(now, 'merged', 'DEVICE_MERGED', { from, to: into });
  });
  rmSync(ctx.paths.watermark, { force: true });
  ctx.log.warn({ from, to: into }, `an administrator merged this device into ${into}; using that id from now on`);
  return true;
}
