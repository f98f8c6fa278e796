// `devlic-server keys list|rotate|retire`: the signing-key commands. They work
// on the keyring file in the data folder (service/keys.ts) and do not talk to
// a running service, which reads the keyring only when it starts.
import { resolve } from 'node:path';
import { parse, UsageError } from '../shared/cli.ts';
import { loadServerConfig } from './config.ts';
import { listKeys, retireKey, rotateKey, type KeyInfo } from './keys.ts';

export const KEYS_USAGE = `Usage: devlic-server keys list   [--data-dir DIR | --config FILE] [--json]
       devlic-server keys rotate [--data-dir DIR | --config FILE] [--json]
       devlic-server keys retire KID [--data-dir DIR | --config FILE] [--json]

The service's entitlement-signing keys (in DIR/signing-key.json, mode 0600).

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

  --data-dir DIR   the service's data folder (default /var/lib/devlic-server)
  --config FILE    read the data folder from the service's settings file
  --json           print the result as JSON

Run it as the service's user or as root (the file keeps its owner).
`;

const RESTART = 'restart the service (e.g. systemctl restart devlic-server) for it to take effect';

export async function keysMain(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'data-dir': { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) { process.stdout.write(KEYS_USAGE); return 0; }
  const [cmd, ...rest] = positionals;
  if (!cmd) throw new UsageError('missing keys command: list, rotate or retire');
  if (!['list', 'rotate', 'retire'].includes(cmd)) throw new UsageError(`unknown keys command '${cmd}' (list, rotate or retire)`);
  if (cmd === 'retire' && rest.length !== 1) throw new UsageError(rest.length ? `keys retire takes one KID, not ${rest.length}` : 'keys retire needs the KID to retire');
  if (cmd !== 'retire' && rest.length) throw new UsageError(`keys ${cmd} takes no arguments (got '${rest.join(' ')}')`);
  const dataDir = loadServerConfig(values.config, { dataDir: values['data-dir'] ? resolve(values['data-dir']) : undefined }).dataDir;
  const out = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);

  if (cmd === 'list') {
    const keys = await listKeys(dataDir);
    out(keys, table(keys));
  } else if (cmd === 'rotate') {
    const r = await rotateKey(dataDir);
    out({ ...r, restartRequired: true },
      `New signing key ${r.kid}, endorsed by ${r.previous} (now previous).\nIt signs tokens once the service restarts: ${RESTART}.\n`);
  } else {
    const r = await retireKey(dataDir, rest[0]);
    out({ ...r, restartRequired: !r.alreadyRetired },
      r.alreadyRetired ? `Key ${r.kid} was already retired (${r.retired}).\n` : `Key ${r.kid} retired; ${RESTART}.\n`);
  }
  return 0;
}

function table(keys: KeyInfo[]): string {
  const rows = [['KID', 'CREATED', 'STATE'], ...keys.map((k) => [k.kid, k.created, k.retired ? `${k.state} ${k.retired}` : k.state])];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ')).join('\n') + '\n';
}
