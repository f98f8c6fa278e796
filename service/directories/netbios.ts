// Which NetBIOS domain names an Active Directory forest uses, so that
// `directories test` can propose the sign-in domain aliases an admin would
// otherwise have to know to type (devices report `CORP\alice`, user groups
// list `alice@corp.example.com`; see shared/sign-in-domains.ts). AD publishes
// them as crossRef objects under CN=Partitions of the configuration naming
// context that its root DSE names: nETBIOSName and dnsRoot. Only proposed,
// never applied: an alias decides whose licence a reported name gets, so it
// stays an admin's audited change (`devlic-admin sign-in-domains add`).
// A directory that is not AD (no configuration naming context, or nothing
// readable there) simply has nothing to propose.
import type { Entry } from 'ldapts';
import { checkDnsDomain, checkNetbiosDomain } from '../../shared/sign-in-domains.ts';
import { values, type DirectorySession } from './ldap.ts';

export interface NetbiosDomain {
  netbios: string;
  dns: string;
  /** set: the alias is in force; missing: no alias for this NetBIOS name; other: it stands for another DNS domain. */
  alias: 'set' | 'missing' | 'other';
  /** The DNS domain the alias in force names (with alias 'other'). */
  current?: string;
}

/** crossRef entries as (NetBIOS, DNS) pairs, normalised; entries without a valid pair are left out. */
export function pairsOf(entries: readonly Entry[]): { netbios: string; dns: string }[] {
  const out = new Map<string, { netbios: string; dns: string }>();
  for (const e of entries) {
    const nb = checkNetbiosDomain(values(e, 'nETBIOSName')[0]);
    const dns = checkDnsDomain(values(e, 'dnsRoot')[0]);
    if (nb.ok && dns.ok) out.set(nb.name, { netbios: nb.name, dns: dns.name });
  }
  return [...out.values()].sort((a, b) => a.netbios.localeCompare(b.netbios));
}

/** Each pair against the aliases in force. */
export function compareWithAliases(pairs: readonly { netbios: string; dns: string }[], aliases: ReadonlyMap<string, string>): NetbiosDomain[] {
  return pairs.map((p) => {
    const cur = aliases.get(p.netbios);
    if (cur === undefined) return { ...p, alias: 'missing' as const };
    return cur === p.dns ? { ...p, alias: 'set' as const } : { ...p, alias: 'other' as const, current: cur };
  });
}

/**
 * The forest's NetBIOS domains, or null when the directory does not say
 * (not AD, or the bind account may not read the configuration partition).
 * Never throws for that: the rest of the test stands on its own.
 */
export async function readNetbiosDomains(s: DirectorySession): Promise<{ netbios: string; dns: string }[] | null> {
  try {
    const root = await s.readEntry('', ['configurationNamingContext']);
    const config = root ? values(root, 'configurationNamingContext')[0] : undefined;
    if (!config) return null;
    return pairsOf(await s.children(`CN=Partitions,${config}`, '(&(objectClass=crossRef)(nETBIOSName=*))', ['nETBIOSName', 'dnsRoot']));
  } catch {
    return null;
  }
}
