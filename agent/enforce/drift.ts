// The drift check's comparisons: given what an enforcer read from the system
// (a file's kind, text, permissions and owner; the mode file's fields), say
// what differs from the wanted state, one short phrase per difference. Pure,
// so every case is tested without files or processes; the enforcers do the
// reading and use the same comparisons to decide whether apply() must write,
// so "verify says drift" and "apply says unchanged" can never disagree (which
// would repair the same thing every minute).
import type { Stats } from 'node:fs';
import type { EnforcementTarget, UserMode } from './types.ts';

/** A file as read without following a symlink at its path (fsutil.ts readRegular). */
export interface ObservedFile {
  /** false for a symlink, FIFO, directory... at the path: never ours. */
  isFile: boolean;
  /** The content, for a regular file. */
  text?: string;
  /** Permission bits with setuid/setgid/sticky (st.mode & 0o7777). */
  perm: number;
  uid: number;
}

export function observeFile(r: { text?: string; st: Pick<Stats, 'mode' | 'uid' | 'isFile'> } | undefined): ObservedFile | null {
  if (!r) return null;
  return { isFile: r.st.isFile(), text: r.text, perm: r.st.mode & 0o7777, uid: r.st.uid };
}

/**
 * Who may own a file the agent relies on: root or the agent's own user (a
 * test agent not running as root). undefined: no uids (Windows), any owner.
 * In the comparisons below, myUid undefined also means "no POSIX permission
 * bits": Windows reports 0666/0444 whatever the ACLs say, so only the
 * content counts there (else every check would find drift).
 */
export function ownerTrusted(uid: number, myUid: number | undefined): boolean {
  return myUid === undefined || uid === 0 || uid === myUid;
}

const octal = (n: number) => n.toString(8).padStart(4, '0');

/** Differences between a file that must exist with exactly `text`, `perm` and a trusted owner, and what is there. */
export function exactFileDrift(what: string, obs: ObservedFile | null, text: string, perm: number, myUid: number | undefined): string[] {
  if (!obs) return [`${what} missing`];
  if (!obs.isFile) return [`${what} is not a regular file`];
  const out: string[] = [];
  if (obs.text !== text) out.push(`${what} content differs`);
  out.push(...metaDrift(what, obs, perm, myUid));
  return out;
}

function metaDrift(what: string, obs: ObservedFile, perm: number, myUid: number | undefined): string[] {
  if (myUid === undefined) return [];
  const out: string[] = [];
  if (obs.perm !== perm) out.push(`${what} permissions ${octal(obs.perm)} (wanted ${octal(perm)})`);
  if (!ownerTrusted(obs.uid, myUid)) out.push(`${what} owned by uid ${obs.uid}, not root`);
  return out;
}

/** A file that must not exist: anything at the path (a symlink too) is drift. */
export function absentFileDrift(what: string, obs: ObservedFile | null): string[] {
  return obs ? [`${what} present`] : [];
}

/** What the file enforcer's mode file must say. */
export interface ModeFileWant {
  mode: EnforcementTarget['mode'];
  reason: string;
  /** Sorted, without duplicates. */
  users: string[];
  /** Per-person modes (issue 16), sorted by user; absent when deciding for the device alone. */
  userModes?: UserMode[];
}

/**
 * The mode file is compared by meaning, not bytes: its `at` is when the
 * content was first written and stays as it is while the content holds.
 */
export function modeFileDrift(obs: ObservedFile | null, want: ModeFileWant, perm: number, myUid: number | undefined): string[] {
  if (!obs) return ['mode file missing'];
  if (!obs.isFile) return ['mode file is not a regular file'];
  const out: string[] = [];
  const cur = parseModeFile(obs.text);
  if (!cur) out.push('mode file unreadable');
  else {
    if (cur.mode !== want.mode) out.push(`mode file says ${cur.mode} (wanted ${want.mode})`);
    if (cur.reason !== want.reason) out.push(`mode file reason ${cur.reason} (wanted ${want.reason})`);
    if (cur.users.length !== want.users.length || cur.users.some((u, i) => u !== want.users[i])) out.push('mode file users differ');
    // Compared only when wanted: a decision for the device alone (one-shot `refresh` without the daemon) knows no people.
    if (want.userModes !== undefined && JSON.stringify(cur.userModes ?? null) !== JSON.stringify(want.userModes)) out.push('mode file per-user modes differ');
  }
  out.push(...metaDrift('mode file', obs, perm, myUid));
  return out;
}

export interface ModeFileDoc { mode: 'full' | 'read-only'; reason: string; users: string[]; userModes?: UserMode[]; at: string }

/** A mode file's fields; undefined when it is not JSON of that shape. */
export function parseModeFile(text: string | undefined): ModeFileDoc | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<ModeFileDoc>;
    if ((v.mode === 'full' || v.mode === 'read-only') && typeof v.reason === 'string'
      && Array.isArray(v.users) && v.users.every((u) => typeof u === 'string') && typeof v.at === 'string') {
      return v as ModeFileDoc;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Name/value pairs read back from a settings store (macOS defaults), against the wanted ones. */
export function valuesDrift(what: string, current: ReadonlyMap<string, string | undefined>, want: ReadonlyArray<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [k, v] of want) {
    const cur = current.get(k);
    if (cur === undefined) out.push(`${what} ${k} missing`);
    else if (cur !== v) out.push(`${what} ${k} is ${JSON.stringify(cur)} (wanted ${JSON.stringify(v)})`);
  }
  return out;
}

/** The per-person entries in a stable order (so order alone is never a change), with only the fields written. */
export function sortedUserModes(target: EnforcementTarget): UserMode[] | undefined {
  if (!target.userModes) return undefined;
  return [...target.userModes].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    .map((u) => ({ user: u.user, mode: u.mode, licence: u.licence, reason: u.reason }));
}
