// `devlic-server keys list|rotate|retire`: the signing-key commands. They work
// on the keyring wherever the service keeps it (service/keys.ts): the file in
// the data folder, or, with a `database` setting, the shared database (its
// private key sealed with the data folder's site key). They do not talk to a
// running service, which reads the keyring only when it starts.
import { resolve } from 'node:path';
import { parse, UsageError } from '../shared/cli.ts';
import { DevlicError } from '../shared/errors.ts';
import { loadServerConfig } from './config.ts';
import type { KeyringStore } from './keyring.ts';
import { databaseKeyring } from './keyring-db.ts';
import { fileKeyring } from './keyring-file.ts';
import { listKeys, retireKey, rotateKey, type KeyInfo } from './keys.ts';
import { openPostgres } from './store/postgres/open.ts';
import { redactUrl } from './store/postgres/url.ts';

export const KEYS_USAGE = `Usage: devlic-server keys list   [--data-dir DIR] [--database URL] [--config FILE] [--json]
       devlic-server keys rotate [--data-dir DIR] [--database URL] [--config FILE] [--json]
       devlic-server keys retire KID [--data-dir DIR] [--database URL] [--config FILE] [--json]

The service's entitlement-signing keys: in DIR/signing-key.json (mode 0600)
for a service on SQLite; with a database setting, in the PostgreSQL database
the replicas share, the active private key sealed with DIR/site-key.

  list     each key's kid, creation time and state: active (signs tokens),
           previous (no longer signs, still published so that the tokens it
           signed verify until they expire) or retired (no longer published)
  rotate   creates a new key, endorsed by the active key, that becomes the
           active key when the service next starts. Restart the service after
           it (systemctl restart devlic-server): devices then get tokens signed
           by the new key and trust it through the endorsement, without
           re-enrolling. The old key's private half is deleted.
  retire   stops publishing an older key. Wait until the tokens it signed
           have expired (offlineValidityDays after the restart that followed
           the rotation), then retire it and restart the service. The active
           key cannot be retired.

  --data-dir DIR   the service's data folder (default /var/lib/devlic-server);
                   on PostgreSQL it holds the site key
  --database URL   the replicas' PostgreSQL database, postgres://USER:PASSWORD@HOST:PORT/DB
                   (default: $DEVLIC_DATABASE, else the settings file's database)
  --config FILE    read the data folder and database from the service's settings file
  --json           print the result as JSON

On PostgreSQL a rotation or retirement reaches every replica at its next
start: restart the replicas one at a time (a rolling restart). Agents trust
the new key through the endorsement whichever replica answers them.

Run it as the service's user or as root (the file keeps its owner).
`;

const RESTART = 'restart the service (e.g. systemctl restart devlic-server) for it to take effect';
const ROLLING = 'restart every replica, one at a time (a rolling restart), for it to take effect';

/** The keyring the service's settings point at, and how to let go of it. */
async function openKeyring(dataDir: string, database: string | null): Promise<{ store: KeyringStore; close: () => Promise<void> }> {
  if (!database) return { store: fileKeyring(dataDir), close: async () => {} };
  const db = await openPostgres(database, { poolSize: 1, migrate: false });
  try {
    // A key command must not create or upgrade the schema under running replicas.
    const t = await db.get<{ t: string | null }>("SELECT to_regclass('signing_keyring')::text AS t");
    if (!t?.t) throw new DevlicError('NOT_FOUND', `no devlic tables in the database at ${redactUrl(database)}; the service creates them and the signing key on its first start (devlic-server serve --database ...)`);
  } catch (e) {
    await db.close();
    throw e;
  }
  return { store: databaseKeyring(db, dataDir), close: () => db.close() };
}

export async function keysMain(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, database: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) { process.stdout.write(KEYS_USAGE); return 0; }
  const [cmd, ...rest] = positionals;
  if (!cmd) throw new UsageError('missing keys command: list, rotate or retire');
  if (!['list', 'rotate', 'retire'].includes(cmd)) throw new UsageError(`unknown keys command '${cmd}' (list, rotate or retire)`);
  if (cmd === 'retire' && rest.length !== 1) throw new UsageError(rest.length ? `keys retire takes one KID, not ${rest.length}` : 'keys retire needs the KID to retire');
  if (cmd !== 'retire' && rest.length) throw new UsageError(`keys ${cmd} takes no arguments (got '${rest.join(' ')}')`);
  // The same precedence as serve: flag, then DEVLIC_DATABASE, then the settings file.
  const cfg = loadServerConfig(values.config, {
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : undefined,
    database: values.database ?? (process.env.DEVLIC_DATABASE || undefined),
  });
  const out = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);
  const restart = cfg.database ? ROLLING : RESTART;
  const { store, close } = await openKeyring(cfg.dataDir, cfg.database);
  try {
    if (cmd === 'list') {
      const keys = await listKeys(store);
      out(keys, table(keys));
    } else if (cmd === 'rotate') {
      const r = await rotateKey(store);
      out({ ...r, restartRequired: true },
        `New signing key ${r.kid}, endorsed by ${r.previous} (now previous).\nIt signs tokens once the service restarts: ${restart}.\n`);
    } else {
      const r = await retireKey(store, rest[0]);
      out({ ...r, restartRequired: !r.alreadyRetired },
        r.alreadyRetired ? `Key ${r.kid} was already retired (${r.retired}).\n` : `Key ${r.kid} retired; ${restart}.\n`);
    }
  } finally {
    await close();
  }
  return 0;
}

function table(keys: KeyInfo[]): string {
  const rows = [['KID', 'CREATED', 'STATE'], ...keys.map((k) => [k.kid, k.created, k.retired ? `${k.state} ${k.retired}` : k.state])];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')).join('\n') + '\n';
}
