// Pure (I/O injected): a directory group's USER objects for a directory user
// group (issue 16), nested groups followed, and the sign-in name each user
// object stands for. Each DN is read at most once, so a cycle (A in B, B in
// A) ends; `known` holds the user objects already fetched in bulk (a paged
// search), which need no read of their own (the walk itself: walk.ts). Computers, contacts and other
// entries are skipped: in Active Directory a computer is also of class
// `user`, so the LDAP side classifies before this walk sees an entry.
import { checkSignInName } from '../../shared/sign-in.ts';
import { walkNested } from './walk.ts';

export interface UserObject { dn: string; upn: string | null; sam: string | null; mail: string | null }

export type UserDirEntry =
  | { kind: 'group'; members: string[] }
  | { kind: 'user'; user: UserObject }
  | { kind: 'other' };

export interface WalkedUsers {
  users: UserObject[];
  /** Groups read: the root and every nested group. */
  groups: number;
  /** Member values that name no entry (deleted objects still listed). */
  dangling: number;
}

export async function walkUsers(rootDn: string, known: ReadonlyMap<string, UserObject>, read: (dn: string) => Promise<UserDirEntry | null>): Promise<WalkedUsers> {
  const w = await walkNested(rootDn, known, read, (e) => (e.kind === 'user' ? e.user : undefined));
  return { users: w.found, groups: w.groups, dangling: w.dangling };
}

/** The DNS domain an entry's DN places it in: its DC= parts joined by dots (`CN=a,OU=x,DC=corp,DC=example` -> corp.example), or null. */
export function dnsDomainOf(dn: string): string | null {
  const parts = dn.split(/(?<!\\),/).map((p) => p.trim()).filter((p) => /^dc\s*=/i.test(p)).map((p) => p.replace(/^dc\s*=\s*/i, ''));
  return parts.length > 0 && parts.every((p) => p !== '') ? parts.join('.') : null;
}

export type SignInOf =
  | { ok: true; name: string; from: 'userPrincipalName' | 'sAMAccountName' | 'mail' }
  | { ok: false; value: string | null; error: string };

/**
 * The sign-in name of a user object, normalised (shared/sign-in.ts), first
 * attribute present wins: `userPrincipalName`; else `sAMAccountName` + `@` +
 * the DNS domain of the entry's DN (Active Directory's implicit UPN); else
 * `mail`. A value that is no valid sign-in name is reported, never repaired,
 * and the next attribute is NOT tried: a broken UPN is a directory error to
 * fix, not a reason to guess the person from another field.
 */
export function signInNameOf(u: UserObject): SignInOf {
  const take = (value: string, from: 'userPrincipalName' | 'sAMAccountName' | 'mail'): SignInOf => {
    const r = checkSignInName(value);
    return r.ok ? { ok: true, name: r.name, from } : { ok: false, value, error: `${from}: ${r.message}` };
  };
  if (u.upn !== null && u.upn.trim() !== '') return take(u.upn, 'userPrincipalName');
  if (u.sam !== null && u.sam.trim() !== '') {
    const domain = dnsDomainOf(u.dn);
    if (domain === null) return { ok: false, value: u.sam, error: 'sAMAccountName without userPrincipalName, and the DN has no DC= parts to take a domain from' };
    return take(`${u.sam.trim()}@${domain}`, 'sAMAccountName');
  }
  if (u.mail !== null && u.mail.trim() !== '') return take(u.mail, 'mail');
  return { ok: false, value: null, error: 'no userPrincipalName, sAMAccountName or mail' };
}
