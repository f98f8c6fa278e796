// Whether the systemd unit lets the agent reach its server. `install` narrows
// the agent's network to the server's address when the URL names one
// (IPAddressDeny=any + IPAddressAllow=, installer/platforms/systemd.ts); an
// `enroll --server` to another address later leaves the old allow list in
// place, and the daemon, in its sandbox, can no longer reach the service,
// while `doctor`, run from a shell outside that sandbox, reaches it fine.
// So doctor reads the unit and its drop-ins and compares (pure part here,
// the file reading in unitNetworkPolicy()).
import { BlockList, isIP } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const AGENT_UNIT = 'devlic-agent.service';
/** systemd's unit folders, most important first (a unit file in /etc hides the one in /usr/lib). */
export const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

export interface NetworkPolicy {
  /** Every address denied unless allowed (IPAddressDeny=any). */
  denyAll: boolean;
  /** IPAddressAllow entries in effect, in order (an empty assignment clears the list before it). */
  allow: string[];
}

/**
 * The IPAddressDeny/IPAddressAllow settings of the unit texts, in the order
 * systemd reads them (unit file, then drop-ins by name). Only `any` deny is
 * recognised as deny-all: the installer writes nothing else, and a narrower
 * deny list does not take the server away unless it names it.
 */
export function networkPolicy(texts: readonly string[]): NetworkPolicy {
  let deny: string[] = [];
  let allow: string[] = [];
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('[')) { section = line; continue; }
      if (section !== '[Service]' || line.startsWith('#') || line.startsWith(';')) continue;
      const m = line.match(/^(IPAddressAllow|IPAddressDeny)\s*=\s*(.*)$/);
      if (!m) continue;
      const values = m[2].split(/\s+/).filter(Boolean);
      if (m[1] === 'IPAddressAllow') allow = values.length ? [...allow, ...values] : [];
      else deny = values.length ? [...deny, ...values] : [];
    }
  }
  return { denyAll: deny.includes('any'), allow };
}

function addEntry(list: BlockList, entry: string): boolean {
  switch (entry) {
    case 'any': list.addSubnet('0.0.0.0', 0, 'ipv4'); list.addSubnet('::', 0, 'ipv6'); return true;
    case 'localhost': list.addSubnet('127.0.0.0', 8, 'ipv4'); list.addAddress('::1', 'ipv6'); return true;
    case 'link-local': list.addSubnet('169.254.0.0', 16, 'ipv4'); list.addSubnet('fe80::', 64, 'ipv6'); return true;
    case 'multicast': list.addSubnet('224.0.0.0', 4, 'ipv4'); list.addSubnet('ff00::', 8, 'ipv6'); return true;
  }
  const [addr, bits] = entry.split('/');
  const family = isIP(addr);
  if (!family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) list.addAddress(addr, type);
  else {
    const n = Number(bits);
    if (!/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)) return false;
    list.addSubnet(addr, n, type);
  }
  return true;
}

export type Verdict =
  | { level: 'ok'; message: string }
  | { level: 'warn' | 'fail'; message: string };

/** Whether a daemon under this policy can reach the server URL's host. */
export function judgeServer(server: string, policy: NetworkPolicy): Verdict {
  if (!policy.denyAll) return { level: 'ok', message: 'the unit does not narrow the network' };
  let host: string;
  try { host = new URL(server).hostname; } catch { return { level: 'warn', message: `cannot read the server URL ${server}` }; }
  const ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const allowed = policy.allow.length ? policy.allow.join(' ') : 'nothing';
  const fix = `run 'devlic-agent install --server ${server}' again (or fix the allow list: systemctl edit devlic-agent)`;
  if (ip.toLowerCase() === 'localhost') {
    return policy.allow.includes('localhost') || policy.allow.includes('any')
      ? { level: 'ok', message: 'the unit allows localhost, the server' }
      : { level: 'fail', message: `the unit allows only ${allowed}, not localhost (the server): the running agent cannot reach it; ${fix}` };
  }
  const family = isIP(ip);
  if (!family) {
    return { level: 'warn', message: `the unit allows only ${allowed} and the server is a host name (${ip}): the running agent reaches it only if it resolves to one of those (and its DNS server is allowed too)` };
  }
  const list = new BlockList();
  const unknown = policy.allow.filter((e) => !addEntry(list, e));
  if (list.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return { level: 'ok', message: `the unit allows ${ip}, the server` };
  return { level: 'fail', message: `the unit allows only ${allowed}${unknown.length ? ` (not understood here: ${unknown.join(' ')})` : ''}, not ${ip} (the server): the running agent cannot reach it; ${fix}` };
}

/**
 * The agent unit's text and its drop-ins, in systemd's order: the unit file
 * from the first folder that has one, then every `*.conf` of the
 * `devlic-agent.service.d` folders by file name (a name in a more important
 * folder hides the same name in a later one). null: no unit (not installed
 * as a systemd service). Only root-owned system folders are read.
 */
export function readAgentUnit(dirs: readonly string[] = UNIT_DIRS): string[] | null {
  const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return null; } };
  const unit = dirs.map((d) => read(join(d, AGENT_UNIT))).find((t) => t !== null);
  if (unit == null) return null;
  const dropIns = new Map<string, string>();
  for (const d of dirs) {
    let names: string[] = [];
    try { names = readdirSync(join(d, `${AGENT_UNIT}.d`)); } catch { continue; }
    for (const n of names) if (n.endsWith('.conf') && !dropIns.has(n)) dropIns.set(n, join(d, `${AGENT_UNIT}.d`, n));
  }
  const ordered = [...dropIns.keys()].sort().map((n) => read(dropIns.get(n)!)).filter((t): t is string => t !== null);
  return [unit, ...ordered];
}
