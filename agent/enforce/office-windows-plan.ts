// The pure half of office-windows: which registry values each case wants,
// in which order they are written, and who among the signed-in people is
// which Windows account (SID). No processes here, so every case is tested
// exhaustively (test/enforce/office-windows-plan.unit.test.ts); the
// enforcer (office-windows.ts) reads the registry, calls these and runs the
// writes they return.
//
// The three cases (docs/design.md, "Per-user enforcement and its limits"):
// - device: the device is licensed. Device-based licensing on, viewer mode
//   off in HKLM and in every loaded user hive.
// - machine: nobody holds a user licence (or a person cannot be told apart):
//   HKLM viewer mode on, device-based licensing off, per-user values removed.
// - per-user: the device is not licensed and some signed-in person holds a
//   user licence. Device-based licensing off, HKLM viewer mode off, viewer
//   mode removed from the per-user policy hive of each signed-in person with
//   a user licence (so they can activate with it) and on in every other
//   loaded person hive: each signed-in person without a licence, and anyone
//   whose hive is loaded but who is not a licensed signed-in person
//   (default deny). Falls back to `machine` when any signed-in person's SID
//   cannot be resolved.
import { win32 } from 'node:path';
import { checkSignInName } from '../../shared/sign-in.ts';
import type { EnforcementTarget } from './types.ts';

export const POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing';
export const C2R_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration';
export const PROFILE_LIST_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';
/** The per-user policy key below a loaded hive (standard users cannot write under Software\Policies). */
export const userPolicyKey = (sid: string) => `HKU\\${sid}\\Software\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing`;
export const volatileEnvKey = (sid: string) => `HKU\\${sid}\\Volatile Environment`;
export const profileKey = (sid: string) => `${PROFILE_LIST_KEY}\\${sid}`;

/**
 * Hives of people: local and domain accounts (S-1-5-21-…) and Microsoft
 * Entra ID accounts (S-1-12-1-…). Service accounts (S-1-5-18/19/20),
 * .DEFAULT and the *_Classes hives are never touched.
 */
const PERSON_SID = /^S-1-(?:5-21|12-1)(?:-\d{1,10}){1,14}$/;
export const isPersonSid = (s: string) => PERSON_SID.test(s);

export type RegType = 'REG_DWORD' | 'REG_SZ';
export interface RegValue { name: string; type: string; data: string }
export interface Want { key: string; name: string; value: { type: RegType; data: string } | null }

/** Parses `reg query KEY` output: the key's own values, by lower-cased name. */
export function parseRegQuery(stdout: string): Map<string, RegValue> {
  const out = new Map<string, RegValue>();
  for (const line of stdout.split(/\r?\n/)) {
    const m = line.match(/^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/);
    if (m) out.set(m[1].toLowerCase(), { name: m[1], type: m[2], data: (m[3] ?? '').trimEnd() });
  }
  return out;
}

/** The loaded person hives in `reg query HKU` output (its subkey lines are full paths). */
export function parseLoadedSids(stdout: string): string[] {
  const out = new Set<string>();
  for (const line of stdout.split(/\r?\n/)) {
    const m = line.trim().match(/^HKEY_USERS\\([^\\\s]+)$/i);
    if (m && isPersonSid(m[1].toUpperCase())) out.add(m[1].toUpperCase());
  }
  return [...out].sort();
}

function sameValue(cur: RegValue | undefined, want: Want['value']): boolean {
  if (!want) return cur === undefined;
  if (!cur || cur.type !== want.type) return false;
  if (want.type === 'REG_DWORD') return Number.parseInt(cur.data, cur.data.startsWith('0x') ? 16 : 10) === Number(want.data);
  return cur.data === want.data;
}

/** The wanted values that the registry read back does not hold (value names are case-insensitive). */
export function registryDrift(current: ReadonlyMap<string, ReadonlyMap<string, RegValue>>, wants: readonly Want[]): Want[] {
  return wants.filter((w) => !sameValue(current.get(w.key)?.get(w.name.toLowerCase()), w.value));
}

/** What the enforcer read about one loaded person hive. */
export interface HiveFacts {
  sid: string;
  /** USERNAME and USERDOMAIN from the hive's Volatile Environment (set at sign-in). */
  userName?: string;
  userDomain?: string;
  /** ProfileImagePath from ProfileList (HKLM: only administrators can change it); undefined: no profile entry. */
  profilePath?: string;
}

/**
 * The SID of each person, or why not. A hive claims a person when its
 * Volatile Environment names them (USERNAME, or USERDOMAIN\USERNAME) and its
 * ProfileList folder is that user's (`…\alice` or `…\alice.CONTOSO`): the
 * Volatile Environment lies in the user's own writable hive, the ProfileList
 * does not, so a person cannot pass for another by editing their own hive.
 * A person claimed by no hive, or by more than one, is unresolved.
 */
export function resolveSids(people: readonly string[], hives: readonly HiveFacts[]): { sids: Map<string, string>; unresolved: string[] } {
  const claims = new Map<string, string[]>();
  for (const h of hives) {
    if (!h.userName || !h.profilePath) continue;
    const user = h.userName.toLowerCase();
    const folder = win32.basename(h.profilePath).toLowerCase();
    if (folder !== user && !folder.startsWith(`${user}.`)) continue;
    const names = new Set<string>();
    for (const raw of [h.userName, h.userDomain ? `${h.userDomain}\\${h.userName}` : undefined]) {
      const r = raw === undefined ? undefined : checkSignInName(raw);
      if (r?.ok) names.add(r.name);
    }
    for (const n of names) claims.set(n, [...(claims.get(n) ?? []), h.sid]);
  }
  const sids = new Map<string, string>();
  const unresolved: string[] = [];
  for (const p of people) {
    const c = claims.get(p) ?? [];
    if (c.length === 1) sids.set(p, c[0]);
    else unresolved.push(p);
  }
  return { sids, unresolved };
}

export type CaseKind = 'device' | 'machine' | 'per-user';

/** Which case a target is, before SIDs are known (the enforcer reads hive identities only for `per-user`). */
export function licensingCase(target: EnforcementTarget): { kind: CaseKind; why?: string; unlicensed: string[]; licensed: string[] } {
  const um = target.userModes ?? [];
  if (um.length === 0) return { kind: target.mode === 'full' ? 'device' : 'machine', unlicensed: [], licensed: [] };
  if (target.mode === 'full' && um.some((u) => u.licence === 'device')) return { kind: 'device', unlicensed: [], licensed: [] };
  const licensed = um.filter((u) => u.mode === 'full' && u.licence === 'user').map((u) => u.user).sort();
  if (licensed.length === 0) return { kind: 'machine', unlicensed: [], licensed: [] };
  // Everyone signed in must be one of the people decided for: a person whose
  // account name is no sign-in name has no entry and could not be kept read-only.
  const decided = new Set(um.map((u) => u.user));
  const stray = target.users.filter((raw) => {
    const r = checkSignInName(raw);
    return !r.ok || !decided.has(r.name);
  });
  if (stray.length) return { kind: 'machine', why: `signed in without a per-person decision: ${stray.join(', ')}`, unlicensed: [], licensed: [] };
  const unlicensed = um.filter((u) => u.mode !== 'full').map((u) => u.user).sort();
  return { kind: 'per-user', unlicensed, licensed };
}

export interface WindowsPlanInput {
  target: EnforcementTarget;
  method: 'policy' | 'click-to-run' | 'both';
  /** Click-to-Run products to switch; empty when Click-to-Run is not installed or not used. */
  prids: readonly string[];
  /** Loaded person hives (parseLoadedSids). */
  sids: readonly string[];
  /** Identities of the loaded hives; needed only for the per-user case. */
  hives: readonly HiveFacts[];
}

export interface WindowsPlan {
  kind: CaseKind;
  /** Ordered: tightening writes before loosening ones (orderWants). */
  wants: Want[];
  /** SIDs that get the per-user viewer mode (sorted). */
  viewerSids: string[];
  /** People whose SID could not be resolved (then kind is `machine`). */
  unresolved: string[];
  /** Why the per-user case fell back to `machine`, in words. */
  fallback?: string;
}

export function planWindows(input: WindowsPlanInput): WindowsPlan {
  const c = licensingCase(input.target);
  let kind = c.kind;
  let fallback = c.why;
  let unresolved: string[] = [];
  let viewerSids: string[] = [];
  if (kind === 'per-user') {
    const r = resolveSids([...c.unlicensed, ...c.licensed].sort(), input.hives.filter((h) => input.sids.includes(h.sid)));
    if (r.unresolved.length) {
      kind = 'machine';
      unresolved = r.unresolved;
      fallback = `no unique Windows account (SID) found for ${r.unresolved.join(', ')}`;
    } else {
      // Default deny: every loaded person hive but a licensed person's gets
      // viewer mode, so a person the session list missed (on Windows it can
      // report fewer people than are signed in) is covered as well.
      const licensedSids = new Set(c.licensed.map((p) => r.sids.get(p)));
      viewerSids = input.sids.filter((sid) => !licensedSids.has(sid)).sort();
    }
  }
  const dblOn = kind === 'device';
  const wants: Want[] = [{ key: POLICY_KEY, name: 'viewermode', value: kind === 'machine' ? DWORD_1 : null }];
  if (input.method !== 'click-to-run') wants.push({ key: POLICY_KEY, name: 'dbsproplus', value: dblOn ? DWORD_1 : null });
  if (input.method !== 'policy') {
    for (const p of input.prids) wants.push({ key: C2R_KEY, name: `${p}.DeviceBasedLicensing`, value: dblOn ? { type: 'REG_SZ', data: '1' } : null });
  }
  for (const sid of input.sids) wants.push({ key: userPolicyKey(sid), name: 'viewermode', value: viewerSids.includes(sid) ? DWORD_1 : null });
  return { kind, wants: orderWants(wants), viewerSids, unresolved, ...(fallback ? { fallback } : {}) };
}

const DWORD_1 = { type: 'REG_DWORD', data: '1' } as const;

/**
 * Writes that take something away (viewer mode on, device-based licensing
 * off) go first, those that give (viewer mode off, device-based licensing
 * on) last: a run that stops half way leaves the machine stricter than
 * either end, never looser. Within each group: per-user before machine for
 * tightening, machine before per-user for loosening, each in input order.
 */
const isViewer = (w: Want) => w.name.toLowerCase() === 'viewermode';
/** A write that takes something away: viewer mode on, or device-based licensing off. */
export const tightens = (w: Want) => (isViewer(w) ? w.value !== null : w.value === null);

export function orderWants(wants: readonly Want[]): Want[] {
  const perUser = (w: Want) => w.key.startsWith('HKU\\');
  const rank = (w: Want) => {
    if (tightens(w)) return isViewer(w) ? (perUser(w) ? 0 : 1) : 2;
    return isViewer(w) ? (perUser(w) ? 4 : 3) : 5;
  };
  return wants.map((w, i) => ({ w, i })).sort((a, b) => rank(a.w) - rank(b.w) || a.i - b.i).map((x) => x.w);
}
