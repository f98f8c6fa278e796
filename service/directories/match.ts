// Pure: which devices a directory group's computer objects are, and how to
// compare DNs. A computer object matches the device in service whose
// reported hostname equals, ignoring case and a trailing dot, the first of
// these that matches any device at all: its dNSHostName, the first label of
// its dNSHostName, its cn. When that key matches two or more devices (two
// records report the same hostname, e.g. a laptop re-imaged and enrolled
// again without retiring its old record) none of them is taken: the
// computer is reported as ambiguous, so a seat never goes to a clone by
// chance; retiring or merging the stale record resolves it at the next sync.

export interface Computer { dn: string; cn: string | null; dnsHostName: string | null }

export interface Ambiguous { dn: string; hostname: string; devices: string[] }

export interface MatchResult {
  /** Device ids the computers are. */
  devices: Set<string>;
  /** DNs of computers with no device (not enrolled yet, or reporting another hostname). */
  unmatched: string[];
  ambiguous: Ambiguous[];
}

export const hostKey = (h: string): string => h.trim().toLowerCase().replace(/\.$/, '');

/** The keys tried for a computer, most specific first (duplicates removed). */
export function keysOf(c: Computer): string[] {
  const keys: string[] = [];
  const dns = c.dnsHostName ? hostKey(c.dnsHostName) : '';
  if (dns) keys.push(dns, dns.split('.')[0]);
  if (c.cn) keys.push(hostKey(c.cn));
  return [...new Set(keys.filter((k) => k !== ''))];
}

/** Devices by hostname key: build once per sync, for every group of the directory. */
export function indexDevices(devices: readonly { id: string; hostname: string | null }[]): Map<string, string[]> {
  const byHost = new Map<string, string[]>();
  for (const d of devices) {
    if (!d.hostname) continue;
    const k = hostKey(d.hostname);
    if (k === '') continue;
    (byHost.get(k) ?? byHost.set(k, []).get(k)!).push(d.id);
  }
  return byHost;
}

export function matchComputers(computers: readonly Computer[], byHost: Map<string, string[]>): MatchResult {
  const out: MatchResult = { devices: new Set(), unmatched: [], ambiguous: [] };
  for (const c of computers) {
    const key = keysOf(c).find((k) => byHost.has(k));
    if (key === undefined) { out.unmatched.push(c.dn); continue; }
    const ids = byHost.get(key)!;
    if (ids.length === 1) out.devices.add(ids[0]);
    else out.ambiguous.push({ dn: c.dn, hostname: key, devices: [...ids].sort() });
  }
  return out;
}

/**
 * A DN in a form that compares equal for the same entry written two ways
 * (case, spaces around separators): LDAP servers return DNs as stored, and
 * member values as the admin typed them. Escaped characters are kept.
 */
export function normDn(dn: string): string {
  return dn.trim().replace(/\s*(?<!\\)([,=+;])\s*/g, '$1').toLowerCase();
}
