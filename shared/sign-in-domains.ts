// Sign-in domain aliases (issue 16): the admin-configured table saying which
// DNS domain a NetBIOS domain stands for (`CORP` -> `corp.example.com`), so
// that `CORP\alice` (what a Windows device reports, normalised to
// `alice@corp` by shared/sign-in.ts) and `alice@corp.example.com` (what a
// directory's userPrincipalName or an admin names) are one person. devlic
// never guesses the table: an alias exists only because an admin added it.
// Pure: validation of both names, resolving a normalised name to its
// person, the spellings that resolve to one person, people an alias merges,
// and the seq a device is answered with (answerSeq). Rules in docs/design.md
// ("Sign-in names").
import { DevlicError } from './errors.ts';
import { checkSignInName } from './sign-in.ts';

/** NetBIOS names are at most 15 characters (the 16th byte is the service type). */
export const NETBIOS_MAX = 15;
export const DNS_DOMAIN_MAX = 253;

/** Letters, digits, '-' and '_': narrower than Windows allows, and what a sign-in name's domain part can always hold. */
const NETBIOS_CHAR = /[\p{L}\p{N}_-]/u;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/u;

export type NameCheck = { ok: true; name: string } | { ok: false; message: string };

/**
 * A NetBIOS domain name as a sign-in name's domain part holds it: lower case.
 * No dot, which keeps NetBIOS names and DNS domains (at least one dot) apart,
 * so an alias's target is never itself an alias: one step, no chains.
 */
export function checkNetbiosDomain(raw: unknown): NameCheck {
  if (typeof raw !== 'string') return { ok: false, message: 'NetBIOS domain must be a string' };
  const s = raw.normalize('NFC').trim();
  if (s === '') return { ok: false, message: 'NetBIOS domain is empty' };
  if (s.includes('.')) return { ok: false, message: `NetBIOS domain '${s.slice(0, 64)}' contains '.': a name with a dot is a DNS domain; give the short NetBIOS name (e.g. CORP)` };
  if (s.length > NETBIOS_MAX) return { ok: false, message: `NetBIOS domain '${s.slice(0, 40)}' is longer than ${NETBIOS_MAX} characters` };
  const bad = [...s].find((ch) => !NETBIOS_CHAR.test(ch));
  if (bad !== undefined) return { ok: false, message: `NetBIOS domain '${s}' contains ${JSON.stringify(bad)}: only letters, digits, '-' and '_' are allowed` };
  return { ok: true, name: s.toLowerCase() };
}

/** A DNS domain: at least two labels of letters, digits and inner hyphens (ASCII; IDNs in their xn-- form), lower case. */
export function checkDnsDomain(raw: unknown): NameCheck {
  if (typeof raw !== 'string') return { ok: false, message: 'DNS domain must be a string' };
  const s = raw.trim().toLowerCase().replace(/\.$/u, '');
  if (s === '') return { ok: false, message: 'DNS domain is empty' };
  if (s.length > DNS_DOMAIN_MAX) return { ok: false, message: `DNS domain is longer than ${DNS_DOMAIN_MAX} characters` };
  const labels = s.split('.');
  if (labels.length < 2) return { ok: false, message: `DNS domain '${s}' has one label: give the full domain, e.g. corp.example.com` };
  const bad = labels.find((l) => !DNS_LABEL.test(l));
  if (bad !== undefined) return { ok: false, message: `DNS domain '${s}' has an invalid label '${bad.slice(0, 63)}' (letters a-z, digits and inner '-', 1 to 63 characters)` };
  return { ok: true, name: s };
}

export function normaliseNetbiosDomain(raw: unknown): string {
  const r = checkNetbiosDomain(raw);
  if (!r.ok) throw new DevlicError('SIGN_IN_DOMAIN_INVALID', r.message, { netbios: String(raw).slice(0, 64) });
  return r.name;
}

export function normaliseDnsDomain(raw: unknown): string {
  const r = checkDnsDomain(raw);
  if (!r.ok) throw new DevlicError('SIGN_IN_DOMAIN_INVALID', r.message, { dns: String(raw).slice(0, 256) });
  return r.name;
}

/** One row of the table; `dns` null once removed (the row stays so that `generation` keeps growing). */
export interface SignInDomainAlias { netbios: string; dns: string | null; generation: number }

/** The table in memory, for resolving many names against one read. */
export class SignInDomains {
  private readonly byNetbios: Map<string, SignInDomainAlias>;

  constructor(rows: readonly SignInDomainAlias[]) {
    this.byNetbios = new Map(rows.map((r) => [r.netbios, r]));
  }

  /** The person a normalised sign-in name stands for: `user@netbios` becomes `user@dns` while an alias exists. */
  person(name: string): string {
    const at = name.lastIndexOf('@');
    if (at < 0) return name;
    const dns = this.byNetbios.get(name.slice(at + 1))?.dns;
    return dns ? `${name.slice(0, at)}@${dns}` : name;
  }

  /** The person a name as typed or reported stands for (normalised, then resolved), or null when it is no sign-in name. */
  personOf(raw: string): string | null {
    const r = checkSignInName(raw);
    return r.ok ? this.person(r.name) : null;
  }

  /** How often the alias of this name's domain was set or removed (0: never): part of answerSeq. */
  generation(name: string): number {
    const at = name.lastIndexOf('@');
    return at < 0 ? 0 : this.byNetbios.get(name.slice(at + 1))?.generation ?? 0;
  }

  /** Every stored spelling that resolves to `person` (itself, and `user@netbios` for each alias of its domain). */
  spellings(person: string): string[] {
    const out = [person];
    const at = person.lastIndexOf('@');
    if (at < 0) return out;
    const dns = person.slice(at + 1);
    for (const a of this.byNetbios.values()) if (a.dns === dns) out.push(`${person.slice(0, at)}@${a.netbios}`);
    return out;
  }
}

/** Users as a device reported them; `person` added where an alias makes the name another person's spelling (the fleet view). */
export function withPersons<T extends { name: string }>(users: readonly T[], domains: SignInDomains): (T & { person?: string })[] {
  return users.map((u) => {
    const r = typeof u?.name === 'string' ? checkSignInName(u.name) : null;
    if (!r?.ok) return u;
    const person = domains.person(r.name);
    return person === r.name ? u : { ...u, person };
  });
}

/** Each person's seq is below this: the alias generation of the asked name's domain counts above it. */
export const PERSON_SEQ_SPAN = 2 ** 32;

/**
 * The seq a device is answered with for the name it asked about. The person
 * behind a name changes when its domain's alias is added or removed, and that
 * person's seq may be lower than the last one's: counting the alias
 * generation above every person's seq keeps the answers for one asked name
 * growing, so the agent's replay watermark (per asked name) never refuses the
 * new person's answer, nor accepts the old person's again.
 */
export function answerSeq(generation: number, personSeq: number): number {
  if (personSeq >= PERSON_SEQ_SPAN) throw new DevlicError('INTERNAL', `a person's seq ${personSeq} is beyond ${PERSON_SEQ_SPAN}`);
  return generation * PERSON_SEQ_SPAN + personSeq;
}

/**
 * People an alias `netbios -> dns` would make one: for every listed name
 * `user@netbios` whose `user@dns` is listed too, the pair (reported, never
 * refused: they are the same account, which is why the alias is added).
 */
export function mergedBy(netbios: string, dns: string, listed: Iterable<string>): { from: string; into: string }[] {
  const all = new Set(listed);
  const suffix = `@${netbios}`;
  const out: { from: string; into: string }[] = [];
  for (const n of [...all].sort()) {
    if (!n.endsWith(suffix)) continue;
    const into = `${n.slice(0, -suffix.length)}@${dns}`;
    if (all.has(into)) out.push({ from: n, into });
  }
  return out;
}

/** A change of the alias of `netbios` reaches every waiter asking about a name in either domain: announced as `@domain` (never a sign-in name). */
export function domainWildcards(...domains: (string | null | undefined)[]): string[] {
  return domains.filter((d): d is string => !!d).map((d) => `@${d}`);
}
