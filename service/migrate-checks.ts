// What migrate-to-postgres does besides copying rows, inside the copy's
// transaction (store/postgres/copy-from-sqlite.ts): it moves the SQLite
// site's keyring file into the database keyring, sealed with the site key,
// so the migrated service keeps signing with the keys every enrolled agent
// pinned; and it checks seats: a recompute on the copy (the licensing core
// over the copy's transaction) must not change any device's licence status.
import { statSync } from 'node:fs';
import { DevlicError } from '../shared/errors.ts';
import { recompute } from './licensing/recompute.ts';
import { hasDatabaseKeyring, siteKey, siteKeyFile, writeDatabaseKeyring } from './keyring-db.ts';
import { fileKeyring } from './keyring-file.ts';
import type { SqlTx } from './store/sql.ts';
import { bindAggregates } from './store/store.ts';

export interface CopiedKeys { keys: number; activeKid: string; siteKeyFile: string; siteKeyCreated: boolean }

/** Copies DIR/signing-key.json into the (keyring-less) database, sealed with DIR/site-key (made 0600 if missing). */
export async function copyKeyring(tx: SqlTx, dataDir: string): Promise<CopiedKeys> {
  const file = fileKeyring(dataDir);
  const ring = await file.load();
  if (!ring) throw new DevlicError('NOT_FOUND', `no signing key in ${dataDir} (${file.where}); without it every enrolled agent would reject the migrated service`);
  if (await hasDatabaseKeyring(tx)) {
    throw new DevlicError('CONFLICT', 'the PostgreSQL database already has a signing keyring (a service was started on it); migrate-to-postgres copies into an empty database only');
  }
  const keyFile = siteKeyFile(dataDir);
  let created = false;
  try {
    statSync(keyFile);
  } catch {
    created = true;
  }
  // Made for the owner of the keyring file: the command is often run as root for a service user.
  const owner = statSync(file.where);
  await writeDatabaseKeyring(tx, ring, siteKey(keyFile, true, { uid: owner.uid, gid: owner.gid }));
  return { keys: ring.keys.length, activeKid: ring.keys[ring.keys.length - 1].kid, siteKeyFile: keyFile, siteKeyCreated: created };
}

/** How many devices a sample in a message names. */
const SAMPLE = 5;

/**
 * Recomputes every entitlement on the copy and refuses (rolling the copy
 * back) if any device's licence status would differ from the one the SQLite
 * site gave it. Other differences (a reason's wording, usage counters) are
 * written, as the service's next recompute would.
 */
export async function seatCheck(tx: SqlTx, now = Date.now()): Promise<void> {
  const q = bindAggregates(tx);
  const before = new Map((await q.entitlements.all()).map((r) => [r.device_id, r.status]));
  await recompute(q, now);
  const moved: string[] = [];
  for (const r of await q.entitlements.all()) {
    const was = before.get(r.device_id) ?? 'none';
    if (was !== r.status) moved.push(`${r.device_id} ${was} -> ${r.status}`);
  }
  if (moved.length) {
    throw new DevlicError('CONFLICT', `seat check failed: ${moved.length} device(s) would change licence status on PostgreSQL `
      + `(${moved.slice(0, SAMPLE).join(', ')}${moved.length > SAMPLE ? ', ...' : ''}); nothing was copied. `
      + 'The stored entitlements do not follow from the licensing data (a subscription term that ended while the site was stopped, '
      + 'or an edit by hand): check these devices on the SQLite site, then run migrate-to-postgres again');
  }
}
