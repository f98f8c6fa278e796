// A throwaway OpenLDAP server for one test file (or a benchmark): slapd.conf,
// an mdb database and the pid file in a temp dir, a free loopback port, a
// rootdn of its own and a read-only service account (`READER_DN`) that
// devlic binds as. Schemas: core, cosine, inetorgperson, plus a small schema
// with Active Directory's `computer`, `group` and `user` classes and
// `dNSHostName`, `userPrincipalName`, `sAMAccountName` (AD's own OIDs), so
// test entries look like AD's. Non-paged searches are
// limited to 500 entries (slapd's default) and paged ones are not, as in AD:
// a sync that forgets to page fails on the > 1,000-member tests.
//
// With `tls` (test/helpers/tls-certs.ts) it also listens on ldaps:// and
// offers StartTLS on ldap://, with that certificate; `requireTls` makes it
// refuse every operation but StartTLS on a plain connection (slapd's
// `security tls=1`), so a bind that works proves TLS was used.
//
// Without slapd or ldap-utils the tests skip loudly; with
// DEVLIC_REQUIRE_REAL_APPS=1 (CI) their absence is a failure instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './processes.ts';
import type { TlsFiles } from './tls-certs.ts';

export const SLAPD_REQUIRED = process.env.DEVLIC_REQUIRE_REAL_APPS === '1';
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const LDAPMODIFY = '/usr/bin/ldapmodify';

export const SLAPD_MISSING: string | undefined = !existsSync(SLAPD) || !existsSync(SLAPADD) ? 'no slapd (apt-get install slapd)'
  : !existsSync(LDAPMODIFY) ? 'no ldapmodify (apt-get install ldap-utils)'
  : !existsSync('/usr/lib/ldap/back_mdb.so') ? 'no /usr/lib/ldap/back_mdb.so (slapd without its mdb backend)' : undefined;

if (SLAPD_MISSING && !SLAPD_REQUIRED) {
  console.warn(`\n!!!!!!!! SKIPPING the real-OpenLDAP tests: ${SLAPD_MISSING}.\n!!!!!!!! Set DEVLIC_REQUIRE_REAL_APPS=1 to make this a failure.\n`);
}

export const SUFFIX = 'dc=example,dc=test';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
const ROOT_PW = 'root-secret-for-tests';
export const READER_DN = `cn=devlic-reader,ou=service,${SUFFIX}`;

const SCHEMA = `
attributetype ( 1.2.840.113556.1.4.619 NAME 'dNSHostName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{2048} SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP top STRUCTURAL
  MUST cn MAY ( dNSHostName $ description ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL
  MUST cn MAY ( member $ description ) )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{1024} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL
  MAY ( userPrincipalName $ sAMAccountName $ mail $ description ) )
attributetype ( 1.2.840.113556.1.4.87 NAME 'nETBIOSName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{16} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.28 NAME 'dnsRoot'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )
objectclass ( 1.2.840.113556.1.3.11 NAME 'crossRef' SUP top STRUCTURAL
  MUST cn MAY ( nETBIOSName $ dnsRoot $ description ) )
attributetype ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'configurationNamingContext'
  EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
`;

/** Where the AD-like configuration naming context lives in the test tree (with `partitions`). */
export const CONFIG_NC = `cn=Configuration,${SUFFIX}`;

/** LDIF of AD's partitions container with one crossRef per (NetBIOS, DNS) domain, as a forest publishes them. */
function partitionsLdif(partitions: readonly { netbios: string; dns: string }[]): string {
  return [
    `dn: ${CONFIG_NC}\nobjectClass: organizationalRole\ncn: Configuration\n`,
    `dn: cn=Partitions,${CONFIG_NC}\nobjectClass: organizationalRole\ncn: Partitions\n`,
    ...partitions.map((p) => `dn: cn=${p.netbios},cn=Partitions,${CONFIG_NC}\nobjectClass: crossRef\ncn: ${p.netbios}\nnETBIOSName: ${p.netbios}\ndnsRoot: ${p.dns}\n`),
  ].join('\n');
}

/** The tree every server starts with: the suffix, OUs and the service account (password given). */
function baseLdif(readerPassword: string): string {
  return [
    `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=service,${SUFFIX}\nobjectClass: organizationalUnit\nou: service\n`,
    `dn: ou=computers,${SUFFIX}\nobjectClass: organizationalUnit\nou: computers\n`,
    `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: devlic-reader\nuserPassword: ${readerPassword}\n`,
  ].join('\n');
}

export interface Slapd {
  readonly url: string;
  /** ldaps://127.0.0.1:PORT when started with `tls`. */
  readonly ldapsUrl: string | null;
  readonly port: number;
  readonly readerPassword: string;
  /** Applies LDIF (changetype records, or plain entries with add: true) as the rootdn with ldapmodify. */
  modify(ldif: string, opts?: { add?: boolean }): Promise<void>;
  /** SIGTERM and wait: the server is down (the dir is kept, so start() can bring it back). */
  pause(): Promise<void>;
  /** Starts it again on the same port after pause(). */
  resume(): Promise<void>;
  /** Stops it and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => { for (const p of running) p.kill('SIGKILL'); });

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** `entries`: LDIF loaded with slapadd before the server starts (fast for thousands of entries). */
/**
 * `partitions`: look like Active Directory to a reader of the root DSE: it
 * names a configuration naming context (CONFIG_NC) whose CN=Partitions holds
 * a crossRef per domain with its NetBIOS and DNS names.
 */
export async function startSlapd(entries = '', opts: { tls?: TlsFiles; requireTls?: boolean; partitions?: readonly { netbios: string; dns: string }[] } = {}): Promise<Slapd> {
  if (SLAPD_MISSING) throw new Error(SLAPD_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'devlic-slapd-'));
  mkdirSync(join(dir, 'db'));
  const readerPassword = `reader-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'computer.schema'), SCHEMA);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    'include /etc/ldap/schema/core.schema', 'include /etc/ldap/schema/cosine.schema', 'include /etc/ldap/schema/inetorgperson.schema',
    `include ${join(dir, 'computer.schema')}`, `pidfile ${join(dir, 'slapd.pid')}`, 'modulepath /usr/lib/ldap', 'moduleload back_mdb',
    ...(opts.tls ? [`TLSCACertificateFile ${opts.tls.caCert}`, `TLSCertificateFile ${opts.tls.serverCert}`, `TLSCertificateKeyFile ${opts.tls.serverKey}`] : []),
    ...(opts.requireTls ? ['security tls=1'] : []),
    ...(opts.partitions ? [`rootDSE ${join(dir, 'rootdse.ldif')}`] : []),
    // As AD: a plain search returns at most 500 entries, a paged one all of them.
    'sizelimit size.soft=500 size.hard=500 size.prtotal=unlimited',
    'database mdb', 'maxsize 1073741824', `suffix "${SUFFIX}"`, `rootdn "${ROOT_DN}"`, `rootpw ${ROOT_PW}`, `directory ${join(dir, 'db')}`,
    'index objectClass eq',
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by users read by * none', '',
  ].join('\n'));
  if (opts.partitions) writeFileSync(join(dir, 'rootdse.ldif'), `dn:\nconfigurationNamingContext: ${CONFIG_NC}\n`);
  const ldif = join(dir, 'load.ldif');
  writeFileSync(ldif, `${baseLdif(readerPassword)}\n${opts.partitions ? `${partitionsLdif(opts.partitions)}\n` : ''}${entries}`);
  const add = spawnSync(SLAPADD, ['-f', conf, '-l', ldif, '-q'], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`slapadd failed: ${add.stderr}`);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const tlsPort = opts.tls ? await freePort() : null;
  const ldapsUrl = tlsPort ? `ldaps://127.0.0.1:${tlsPort}` : null;
  let proc: ChildProcess | null = null;
  let log = '';

  async function start(): Promise<void> {
    // -d 0: stay in the foreground (a child we can stop), logging nothing but fatal errors.
    const p = spawn(SLAPD, ['-f', conf, '-h', [url, ldapsUrl].filter(Boolean).map((u) => `${u}/`).join(' '), '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    running.add(p);
    p.stdout!.on('data', (d) => { log += d; });
    p.stderr!.on('data', (d) => { log += d; });
    let exited = false;
    p.once('exit', () => { exited = true; running.delete(p); });
    await waitFor('slapd to accept connections', async () => {
      if (exited) throw new Error(`slapd exited: ${log}`);
      return await portOpen(port) && (tlsPort === null || await portOpen(tlsPort));
    }, 30_000, 50);
  }

  async function halt(): Promise<void> {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    await gone;
    proc = null;
  }

  await start();
  let stopped = false;
  return {
    url, port, readerPassword, ldapsUrl,
    modify: (text, o = {}) => new Promise((resolve, reject) => {
      // Over ldaps:// when the server has TLS (it may refuse plain operations), trusting its own CA.
      const m = spawn(LDAPMODIFY, ['-x', '-H', ldapsUrl ?? url, '-D', ROOT_DN, '-w', ROOT_PW, ...(o.add ? ['-a'] : [])], {
        stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...(opts.tls ? { LDAPTLS_CACERT: opts.tls.caCert } : {}) },
      });
      let err = '';
      m.stderr.on('data', (d) => { err += d; });
      m.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ldapmodify failed (${code}): ${err}`))));
      m.stdin.end(text);
    }),
    pause: halt,
    resume: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** LDIF of a computer object in ou=computers. */
export function computerLdif(cn: string, dnsHostName?: string): string {
  return `dn: cn=${cn},ou=computers,${SUFFIX}\nobjectClass: computer\ncn: ${cn}\n${dnsHostName ? `dNSHostName: ${dnsHostName}\n` : ''}`;
}

/** LDIF of an AD-style group (objectClass group) in ou=groups with these member DNs. */
export function groupLdif(cn: string, members: string[], objectClass: 'group' | 'groupOfNames' = 'group'): string {
  return `dn: cn=${cn},ou=groups,${SUFFIX}\nobjectClass: ${objectClass}\ncn: ${cn}\n${members.map((m) => `member: ${m}\n`).join('')}`;
}

/**
 * LDIF of a person in ou=people: an AD-style `user` (with whichever of
 * userPrincipalName, sAMAccountName and mail are given), or with
 * `inetOrgPerson: true` OpenLDAP's inetOrgPerson (mail only).
 */
export function userLdif(cn: string, a: { upn?: string; sam?: string; mail?: string; inetOrgPerson?: boolean } = {}): string {
  const attrs = [a.upn && `userPrincipalName: ${a.upn}`, a.sam && `sAMAccountName: ${a.sam}`, a.mail && `mail: ${a.mail}`].filter(Boolean).map((l) => `${l}\n`).join('');
  return `dn: cn=${cn},ou=people,${SUFFIX}\nobjectClass: ${a.inetOrgPerson ? 'inetOrgPerson' : 'user'}\ncn: ${cn}\nsn: ${cn}\n${attrs}`;
}

export const userDn = (cn: string) => `cn=${cn},ou=people,${SUFFIX}`;
export const computerDn = (cn: string) => `cn=${cn},ou=computers,${SUFFIX}`;
export const groupDn = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`;
