// devlic-admin's `directories` commands (LDAP / Active Directory connections
// for directory groups) and how their answers are shown. The bind password
// is read here, from --password-file on the admin's side, and sent once in
// the request body: it never appears on a command line, in the output, or
// in the service's answers. A CA certificate (--ca-file) is read here too and
// checked before it is sent.
import { readFileSync } from 'node:fs';
import { API } from '../../shared/api.ts';
import { parseDuration, UsageError } from '../../shared/cli.ts';
import type { CreateDirectoryBody, Directory, DirectoryTest, UpdateDirectoryBody } from '../../shared/schemas/directories.ts';
import { isDevlicError } from '../../shared/errors.ts';
import { parseCaPem } from '../directories/ca.ts';
import { SYNC_SECONDS_MAX, SYNC_SECONDS_MIN } from '../../shared/schemas/directories.ts';
import type { Deleted } from '../../shared/schemas/admin.ts';
import { required, seg, str, take } from './arguments.ts';
import { bool_, cmd, list, str_, type CommandSpec } from './command-spec.ts';
import type { ListAnswer } from './render.ts';
import { formatKeyValue, formatTable, formatTime, sanitize } from './table.ts';

const A = API.admin;

const flag = (a: Parameters<typeof str>[0], name: string): boolean => a.values[name] === true;

/** The password file's content without its final line break; exit 2 when it cannot be read or is empty. */
export function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --password-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError(`--password-file ${file} is empty`);
  if (/[\r\n]/.test(password)) throw new UsageError(`--password-file ${file} has more than one line; it must hold the password only`);
  return password;
}

/** The CA file's PEM, checked here (exit 2 for a file that is not PEM certificates, or holds a private key). */
export function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --ca-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    parseCaPem(text, `--ca-file ${file}`);
  } catch (e) {
    if (isDevlicError(e)) throw new UsageError(e.message);
    throw e;
  }
  return text;
}

export function parseLdapUrl(url: string): string {
  if (!/^ldaps?:\/\/[^\s/]+\/?$/.test(url)) throw new UsageError(`--url '${url}' is not ldap://host[:port] or ldaps://host[:port]`);
  return url;
}

export function parseSyncEvery(text: string): number {
  const s = parseDuration(text);
  if (s < SYNC_SECONDS_MIN || s > SYNC_SECONDS_MAX) throw new UsageError(`--sync-every must be between ${SYNC_SECONDS_MIN}s and 24h`);
  return s;
}

const every = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

function lastSyncCell(d: Directory): string {
  if (!d.lastSync) return 'never';
  return `${formatTime(d.lastSync.at)} ${d.lastSync.ok ? 'ok' : 'FAILED'}`;
}

function countsCell(d: Directory): string {
  const c = d.lastSync?.counts;
  if (!c) return '-';
  const people = c.userGroups ? `; ${c.people ?? 0} people, ${c.peopleSkipped ?? 0} skipped` : '';
  return `${c.computers} computers, ${c.matched} matched, ${c.unmatched} unmatched, ${c.ambiguous} ambiguous${people}`;
}

export function renderDirectories(l: ListAnswer<Directory>): string {
  if (l.items.length === 0) return 'No directories.\n';
  const table = formatTable(['ID', 'NAME', 'URL', 'EVERY', 'GROUPS', 'LAST SYNC', 'COUNTS (last good sync)'],
    l.items.map((d) => [d.id, d.name, d.url, every(d.syncSeconds), d.groups.length, lastSyncCell(d), countsCell(d)]));
  const errors = l.items.filter((d) => d.lastSync && !d.lastSync.ok).map((d) => `${sanitize(d.name)}: ${sanitize(d.lastSync!.error ?? '')}`);
  return errors.length ? `${table}\nLast sync failed (no membership was changed):\n${errors.map((e) => `  ${e}\n`).join('')}` : table;
}

/** The test's answer; for Active Directory the forest's NetBIOS domains, and the alias commands that are missing (proposed, never run). */
export function renderDirectoryTest(t: DirectoryTest): string {
  let out = `The directory answered: ${t.computers} computer objects under the base DN (${t.queries} LDAP requests).\n`;
  const nb = t.netbiosDomains;
  if (!nb) return out;
  if (nb.length === 0) return `${out}Active Directory: no NetBIOS domain names could be read from its partitions.\n`;
  out += `\nNetBIOS domains of this forest (devices report people as NETBIOS\\user):\n${formatTable(['NETBIOS', 'DNS DOMAIN', 'SIGN-IN DOMAIN ALIAS'],
    nb.map((d) => [d.netbios, d.dns, d.alias === 'set' ? 'set' : d.alias === 'missing' ? 'MISSING' : `stands for ${d.current} instead`]))}`;
  const missing = nb.filter((d) => d.alias === 'missing');
  if (missing.length) {
    out += `\nSo that people reported as NETBIOS\\user get the user licences listed as user@DNS-DOMAIN, add the missing aliases:\n${
      missing.map((d) => `  devlic-admin sign-in-domains add ${sanitize(d.netbios)} ${sanitize(d.dns)}\n`).join('')}`;
  }
  return out;
}

const tlsCell = (d: Directory) => {
  const tls = d.url.toLowerCase().startsWith('ldaps://') ? 'ldaps' : d.startTls ? 'StartTLS' : 'none (plain LDAP)';
  return d.ca ? `${tls}; trusts ${d.ca.subject} (SHA-256 ${d.ca.fingerprint256}, until ${d.ca.validTo})` : tls === 'none (plain LDAP)' ? tls : `${tls}; trusts the system's CAs`;
};

export function renderDirectory(d: Directory): string {
  return formatKeyValue([
    ['ID', d.id], ['Name', d.name], ['URL', d.url], ['TLS', tlsCell(d)], ['Bind DN', d.bindDn], ['Base DN', d.baseDn], ['Sync every', every(d.syncSeconds)],
    ['Groups', d.groups.length ? d.groups.map((g) => `${g.name} (${g.dn})`).join(', ') : 'none'],
    ['User groups', d.userGroups?.length ? d.userGroups.map((g) => `${g.name} (${g.dn})`).join(', ') : 'none'],
    ['Last sync', lastSyncCell(d)], ['Error', d.lastSync?.error ?? '-'], ['Counts', countsCell(d)], ['Next sync', formatTime(d.nextSyncAt)],
  ]);
}

export const DIRECTORY_COMMANDS: CommandSpec[] = [
  list('directories list', '/directories', 'List LDAP / Active Directory connections with their last sync, error and counts', renderDirectories),
  cmd({
    name: 'directories add', args: 'NAME', summary: 'Add an LDAP / Active Directory connection for directory groups', answer: 'object',
    options: { url: str_, 'bind-dn': str_, 'password-file': str_, 'base-dn': str_, 'sync-every': str_, 'ca-file': str_, starttls: bool_ },
    optionHelp: [
      ['--url ldap(s)://HOST[:PORT]', 'the directory server', true],
      ['--bind-dn DN', 'whom to bind as (a read-only service account)', true],
      ['--password-file F', 'file holding the bind password (read here, sent once, stored sealed)', true],
      ['--base-dn DN', 'where computer objects are searched', true],
      ['--sync-every 15m', 'how often its groups are synced (10s to 24h; default 15m)'],
      ['--ca-file F', 'PEM file of the CA that signed the directory\'s certificate (ldaps:// or --starttls; default: the system\'s CAs)'],
      ['--starttls', 'upgrade an ldap:// connection with StartTLS before binding (never falls back to plain)'],
    ],
    build(a) {
      const [name] = take(a, ['NAME']);
      const body: CreateDirectoryBody = {
        name, url: parseLdapUrl(required(a, 'url', 'ldap(s)://HOST[:PORT]')), bindDn: required(a, 'bind-dn', 'DN'),
        password: '', baseDn: required(a, 'base-dn', 'DN'),
      };
      const s = str(a, 'sync-every');
      if (s !== undefined) body.syncSeconds = parseSyncEvery(s);
      if (flag(a, 'starttls')) body.startTls = true;
      const ca = str(a, 'ca-file');
      if (ca !== undefined) body.caCert = readCaFile(ca);
      // Read last: a usage mistake elsewhere is reported without touching the file.
      body.password = readPasswordFile(required(a, 'password-file', 'FILE'));
      return { method: 'POST', path: `${A}/directories`, body };
    },
    render: (d: Directory) => `Added directory '${sanitize(d.name)}'; its groups sync every ${every(d.syncSeconds)}.\n\n${renderDirectory(d)}`,
  }),
  cmd({
    name: 'directories update', args: 'NAME', summary: 'Change a directory\'s settings in place (its groups and members stay)', answer: 'object',
    options: {
      url: str_, 'bind-dn': str_, 'password-file': str_, 'base-dn': str_, 'sync-every': str_, 'ca-file': str_, 'system-ca': bool_, starttls: bool_, 'no-starttls': bool_,
    },
    optionHelp: [
      ['--url ldap(s)://HOST[:PORT]', 'another server'],
      ['--bind-dn DN', 'another account to bind as'],
      ['--password-file F', 'a new bind password, from a file (read here, sent once, stored sealed)'],
      ['--base-dn DN', 'another base DN'],
      ['--sync-every 15m', 'another sync interval (10s to 24h; a shorter one brings the next sync forward)'],
      ['--ca-file F | --system-ca', 'trust the CA in this PEM file, or the system\'s CAs again'],
      ['--starttls | --no-starttls', 'upgrade ldap:// with StartTLS, or stop doing so'],
    ],
    build(a) {
      const [name] = take(a, ['NAME']);
      const body: UpdateDirectoryBody = {};
      const url = str(a, 'url');
      if (url !== undefined) body.url = parseLdapUrl(url);
      const bindDn = str(a, 'bind-dn');
      if (bindDn !== undefined) body.bindDn = bindDn;
      const baseDn = str(a, 'base-dn');
      if (baseDn !== undefined) body.baseDn = baseDn;
      const s = str(a, 'sync-every');
      if (s !== undefined) body.syncSeconds = parseSyncEvery(s);
      if (flag(a, 'starttls') && flag(a, 'no-starttls')) throw new UsageError('give --starttls or --no-starttls, not both');
      if (flag(a, 'starttls')) body.startTls = true;
      if (flag(a, 'no-starttls')) body.startTls = false;
      const ca = str(a, 'ca-file');
      if (ca !== undefined && flag(a, 'system-ca')) throw new UsageError('give --ca-file F or --system-ca, not both');
      if (flag(a, 'system-ca')) body.caCert = null;
      if (ca !== undefined) body.caCert = readCaFile(ca);
      const pw = str(a, 'password-file');
      if (Object.keys(body).length === 0 && pw === undefined) {
        throw new UsageError('nothing to change: give --url, --bind-dn, --password-file, --base-dn, --sync-every, --ca-file, --system-ca, --starttls or --no-starttls');
      }
      // Read last: a usage mistake elsewhere is reported without touching the file.
      if (pw !== undefined) body.password = readPasswordFile(pw);
      return { method: 'PATCH', path: `${A}/directories/${seg(name)}`, body };
    },
    render: (d: Directory) => `Updated directory '${sanitize(d.name)}'; its groups and members stay, the new settings are used from the next sync ('devlic-admin directories test ${sanitize(d.name)}' checks them now).\n\n${renderDirectory(d)}`,
  }),
  cmd({
    name: 'directories test', args: 'NAME', summary: 'Bind and count the computer objects under the base DN (changes nothing)', answer: 'object',
    build: (a) => ({ method: 'POST', path: `${A}/directories/${seg(take(a, ['NAME'])[0])}/test`, body: {} }),
    details: ['For Active Directory it also lists the forest\'s NetBIOS domains and proposes the sign-in domain aliases',
      'that are missing (devlic-admin sign-in-domains add NETBIOS DNS); it never adds one itself.'],
    render: renderDirectoryTest,
  }),
  cmd({
    name: 'directories sync', args: 'NAME', summary: 'Sync the directory\'s groups now (a directory that is down changes nothing)', answer: 'object',
    build: (a) => ({ method: 'POST', path: `${A}/directories/${seg(take(a, ['NAME'])[0])}/sync`, body: {} }),
    render: (r: { directory: Directory; devicesChanged: number; ambiguous: { dn: string; hostname: string; devices: string[] }[]; peopleChanged?: number; skippedUsers?: { group: string; dn: string; value: string | null; error: string }[] }) => {
      const c = r.directory.lastSync?.counts;
      let head = c ? `Synced: ${c.added} added, ${c.removed} removed; ${r.devicesChanged} devices' entitlements changed.\n` : 'Synced.\n';
      if (c?.userGroups) head += `User groups: ${c.peopleAdded ?? 0} people added, ${c.peopleRemoved ?? 0} removed; ${r.peopleChanged ?? 0} people's licences changed.\n`;
      if (r.skippedUsers?.length) {
        head += `\nSkipped (no valid sign-in name; fix them in the directory):\n${formatTable(['USER GROUP', 'USER OBJECT', 'WHY'], r.skippedUsers.map((x) => [x.group, x.dn, x.error]))}`;
      }
      const amb = r.ambiguous.length
        ? `\nAmbiguous (hostname reported by several devices; none of them taken):\n${formatTable(['COMPUTER', 'HOSTNAME', 'DEVICES'], r.ambiguous.map((x) => [x.dn, x.hostname, x.devices.join(' ')]))}`
        : '';
      return `${head}${amb}\n${renderDirectory(r.directory)}`;
    },
  }),
  cmd({
    name: 'directories remove', args: 'NAME', summary: 'Remove a directory connection (refused while a group follows it)', answer: 'object',
    build: (a) => ({ method: 'DELETE', path: `${A}/directories/${seg(take(a, ['NAME'])[0])}` }),
    render: (d: Deleted) => `Removed directory '${sanitize(d.name)}' (${d.id}).\n`,
  }),
];
