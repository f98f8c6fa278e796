// The LDAP side of a directory sync (ldapts): bind, fetch the computer
// objects under the base DN with paged searches, and read single entries
// (groups and their members). Every request is counted, for `directories
// list` and the benchmark. Failures become DIRECTORY_FAILED with a message
// that names the server and the bind DN, never the password.
import { Client, InvalidCredentialsError, NoSuchObjectError, type Entry } from 'ldapts';
import { DevlicError } from '../../shared/errors.ts';
import { normDn, type Computer } from './match.ts';
import type { DirEntry } from './walk.ts';

export interface DirectoryLogin { url: string; bindDn: string; password: string; baseDn: string }

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
const computerOf = (e: Entry): Computer => ({ dn: e.dn, cn: first(e, 'cn'), dnsHostName: first(e, 'dNSHostName') });

/** Why a request failed, in words an admin can act on (never the password). */
export function describeFailure(e: unknown, login: DirectoryLogin): string {
  if (e instanceof InvalidCredentialsError) return `the directory at ${login.url} refused the bind as '${login.bindDn}': invalid credentials`;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ECONNREFUSED') return `cannot reach the directory at ${login.url}: connection refused`;
  if (err?.code === 'ENOTFOUND') return `cannot reach the directory at ${login.url}: no such host`;
  return `directory ${login.url}: ${err?.message ?? String(e)}`;
}

/** Opens a bound session, runs fn, always unbinds. A failure: DIRECTORY_FAILED. */
export async function withDirectory<T>(login: DirectoryLogin, fn: (s: DirectorySession) => Promise<T>): Promise<T> {
  const client = new Client({ url: login.url, connectTimeout: CONNECT_TIMEOUT_MS, timeout: OPERATION_TIMEOUT_MS, strictDN: false });
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
      if (classes.some((c) => GROUP_CLASSES.has(c))) return { kind: 'group', members: [...values(e, 'member'), ...values(e, 'uniqueMember')] };
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
