// The LDAP side of a directory sync (ldapts): bind, fetch the computer
// objects under the base DN with paged searches, and read single entries
// (groups and their members). Every request is counted, for `directories
// list` and the benchmark. Failures become DIRECTORY_FAILED with a message
// that names the server and the bind DN, never the password. TLS: ldaps://,
// or ldap:// upgraded by StartTLS before the bind (never a fallback to
// plain text when the upgrade fails); the certificate is checked against the
// directory's own CA when one is set, else the system's CAs, and its name
// against the URL's host.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, NoSuchObjectError, type Entry } from 'ldapts';
import { DevlicError } from '../../shared/errors.ts';
import { normDn, type Computer } from './match.ts';
import type { DirEntry } from './walk.ts';
import { allValues } from './ranged.ts';

export interface DirectoryLogin {
  url: string; bindDn: string; password: string; baseDn: string;
  /** PEM of the CA(s) to trust instead of the system's; null: the system's. */
  ca?: string | null;
  startTls?: boolean;
}

/** Node TLS options for a login: its CA, and the host the certificate must name. */
export function tlsOptionsOf(login: DirectoryLogin): ConnectionOptions {
  const host = new URL(login.url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return { ...(login.ca ? { ca: [login.ca] } : {}), host, ...(isIP(host) ? {} : { servername: host }) };
}

const TLS_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** Entries per page of a paged search: AD's MaxPageSize is 1,000, OpenLDAP's default size limit 500. */
export const PAGE_SIZE = 500;
const CONNECT_TIMEOUT_MS = 10_000;
const OPERATION_TIMEOUT_MS = 60_000;
const GROUP_CLASSES = new Set(['group', 'groupofnames', 'groupofuniquenames']);

export interface DirectorySession {
  /** Every computer object under the base DN, by normalised DN (one paged search). */
  computers(): Promise<Map<string, Computer>>;
  read(dn: string): Promise<DirEntry | null>;
  /** Every entry under the base DN matching `filter` (paged, like computers()); for user objects (user-sync.ts). */
  searchAll(filter: string, attributes: string[]): Promise<Entry[]>;
  /** One entry by DN with these attributes, or null when it does not exist. */
  readEntry(dn: string, attributes: string[]): Promise<Entry | null>;
  /** The entries one level below `dn` matching `filter` (not paged: for small containers such as AD's partitions); [] when dn does not exist. */
  children(dn: string, filter: string, attributes: string[]): Promise<Entry[]>;
  /** LDAP requests sent so far (the bind, each page, each read). */
  readonly queries: number;
}

/** An attribute's values as text, whatever the case of its name in the answer. */
export const values = (e: Entry, name: string): string[] => {
  const key = Object.keys(e).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? [] : e[key];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
};
const first = (e: Entry, name: string): string | null => values(e, name)[0] ?? null;
/** Every attribute of an entry by its description as answered (`member;range=0-1499` stays as is). */
const attributesOf = (e: Entry): Record<string, string[]> =>
  Object.fromEntries(Object.keys(e).filter((k) => k !== 'dn').map((k) => [k, values(e, k)]));
const computerOf = (e: Entry): Computer => ({ dn: e.dn, cn: first(e, 'cn'), dnsHostName: first(e, 'dNSHostName') });

/** Why a request failed, in words an admin can act on (never the password). */
export function describeFailure(e: unknown, login: DirectoryLogin): string {
  if (e instanceof InvalidCredentialsError) return `the directory at ${login.url} refused the bind as '${login.bindDn}': invalid credentials`;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ECONNREFUSED') return `cannot reach the directory at ${login.url}: connection refused`;
  if (err?.code === 'ENOTFOUND') return `cannot reach the directory at ${login.url}: no such host`;
  if (err?.code && TLS_CODES.has(err.code)) {
    return `the directory at ${login.url} presented a TLS certificate that is not trusted (${err.code}: ${err.message}); nothing was sent to it. Give the CA that signed it (devlic-admin directories update NAME --ca-file F)`;
  }
  if (login.startTls && /unsupported extended operation|protocol error/i.test(err?.message ?? '')) {
    return `the directory at ${login.url} does not offer StartTLS (${err.message})`;
  }
  return `directory ${login.url}: ${err?.message ?? String(e)}`;
}

/** Opens a bound session, runs fn, always unbinds. A failure: DIRECTORY_FAILED. */
export async function withDirectory<T>(login: DirectoryLogin, fn: (s: DirectorySession) => Promise<T>): Promise<T> {
  const tls = tlsOptionsOf(login);
  const ldaps = login.url.toLowerCase().startsWith('ldaps://');
  const client = new Client({ url: login.url, connectTimeout: CONNECT_TIMEOUT_MS, timeout: OPERATION_TIMEOUT_MS, strictDN: false, ...(ldaps ? { tlsOptions: tls } : {}) });
  let queries = 0;
  const session: DirectorySession = {
    get queries() { return queries; },
    async computers() {
      const out = new Map<string, Computer>();
      const pages = client.searchPaginated(login.baseDn, {
        scope: 'sub', filter: '(objectClass=computer)', attributes: ['cn', 'dNSHostName'], paged: { pageSize: PAGE_SIZE },
      });
      for (;;) {
        queries++;
        const page = await pages.next();
        if (page.done) break;
        for (const e of page.value.searchEntries) out.set(normDn(e.dn), computerOf(e));
      }
      // The generator's last next() ends the loop without a request of its own.
      queries--;
      return out;
    },
    async read(dn) {
      let entries: Entry[];
      try {
        queries++;
        entries = (await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['objectClass', 'member', 'uniqueMember', 'cn', 'dNSHostName'] })).searchEntries;
      } catch (e) {
        if (e instanceof NoSuchObjectError) return null;
        throw e;
      }
      const e = entries[0];
      if (!e) return null;
      const classes = values(e, 'objectClass').map((c) => c.toLowerCase());
      if (classes.includes('computer')) return { kind: 'computer', computer: computerOf(e) };
      if (classes.some((c) => GROUP_CLASSES.has(c))) {
        // Active Directory hands out a big group's `member` in slices (ranged.ts; not tested against AD itself).
        const member = await allValues('member', attributesOf(e), async (description) => {
          queries++;
          const r = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [description] });
          return r.searchEntries[0] ? attributesOf(r.searchEntries[0]) : {};
        });
        return { kind: 'group', members: [...member.values, ...values(e, 'uniqueMember')] };
      }
      return { kind: 'other' };
    },
    async searchAll(filter, attributes) {
      const out: Entry[] = [];
      const pages = client.searchPaginated(login.baseDn, { scope: 'sub', filter, attributes, paged: { pageSize: PAGE_SIZE } });
      for (;;) {
        queries++;
        const page = await pages.next();
        if (page.done) break;
        out.push(...page.value.searchEntries);
      }
      queries--;
      return out;
    },
    async children(dn, filter, attributes) {
      try {
        queries++;
        return (await client.search(dn, { scope: 'one', filter, attributes })).searchEntries;
      } catch (e) {
        if (e instanceof NoSuchObjectError) return [];
        throw e;
      }
    },
    async readEntry(dn, attributes) {
      try {
        queries++;
        return (await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes })).searchEntries[0] ?? null;
      } catch (e) {
        if (e instanceof NoSuchObjectError) return null;
        throw e;
      }
    },
  };
  try {
    if (login.startTls && !ldaps) {
      queries++;
      await client.startTLS(tls);
    }
    queries++;
    await client.bind(login.bindDn, login.password);
    return await fn(session);
  } catch (e) {
    if (e instanceof DevlicError) throw e;
    throw new DevlicError('DIRECTORY_FAILED', describeFailure(e, login));
  } finally {
    await client.unbind().catch(() => {});
  }
}
