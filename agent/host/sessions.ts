// Who is signed in, and noticing sign-ins/outs quickly. On Linux the utmp file
// is watched with fs.watch (a sign-in rewrites it) plus a periodic re-read in
// case an event is missed or the file appears later; on Windows the owners of
// every explorer.exe are polled (windows-sessions.ts); on macOS
// systeminformation.users() is, each full read spared while utmpx is
// unchanged (session-gate.ts). Each scan is reconciled with the open
// sessions in the database (so sign-outs missed while the agent was stopped
// are closed at start-up), recorded as sign-in/sign-out events, and reported
// to the daemon, which applies the mode for the new set of users. The
// periodic re-read of utmp is skipped while the file is the same as at the
// last scan (same inode, size and change times): a sign-in or sign-out
// rewrites it, and an idle agent no longer reads and reconciles it four
// times a minute for nothing (issue 18).
import { readFile } from 'node:fs/promises';
import { statSync, watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../shared/log.ts';
import { parseUtmp, signedIn, type SignedIn } from './utmp.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from '../decision/clock.ts';
import { windowsSessionsSource } from './windows-sessions.ts';
import { gatedSource } from './session-gate.ts';

export type SessionSource = () => Promise<SignedIn[]>;

export function utmpSource(path: string): SessionSource {
  return async () => {
    try {
      return signedIn(parseUtmp(await readFile(path)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  };
}

export function systemUsersSource(): SessionSource {
  return async () => {
    // Its users module only, not the whole package (see os-version.ts).
    const { users: readUsers } = await import('systeminformation/lib/users.js');
    const users = await readUsers();
    return users.filter((u) => u.user).map((u) => {
      const since = Date.parse(`${u.date}T${u.time}`);
      return { user: u.user, line: u.tty || u.ip || 'console', host: u.ip || '', sinceMs: Number.isNaN(since) ? 0 : since };
    });
  };
}

/** Where sign-ins are read on each platform: utmp on Linux, every explorer.exe's owner on Windows, systeminformation elsewhere (macOS). */
export function sessionSourceKind(platform: NodeJS.Platform): 'utmp' | 'windows-explorer' | 'systeminformation' {
  if (platform === 'linux') return 'utmp';
  if (platform === 'win32') return 'windows-explorer';
  return 'systeminformation';
}

export function platformSessionSource(utmpPath: string, platform: NodeJS.Platform = process.platform): SessionSource {
  switch (sessionSourceKind(platform)) {
    case 'utmp': return utmpSource(utmpPath);
    case 'windows-explorer': return windowsSessionsSource();
    // macOS records console and terminal sign-ins in utmpx, which `who` (behind systeminformation) reads:
    // its inode, size and times are the mark that spares the read (session-gate.ts).
    case 'systeminformation': return platform === 'darwin' ? gatedSource(systemUsersSource(), fileMark(MACOS_UTMPX)) : systemUsersSource();
  }
}

export const MACOS_UTMPX = '/var/run/utmpx';

/** A file's version as a session-gate mark; null (read in full) when it is missing or cannot be stat'ed. */
export function fileMark(path: string): () => Promise<string | null> {
  return async () => {
    const v = fileVersion(path);
    return v === null || v === 'missing' ? null : v;
  };
}

export interface SessionChange {
  started: SignedIn[];
  ended: { user: string; line: string }[];
  users: string[];
}

const key = (u: string, line: string) => `${u}\u0000${line}`;

/** What identifies a version of the file: null when it cannot be told (then it is read). */
export function fileVersion(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'missing';
  } catch {
    return null;
  }
}

/** Brings the open sessions in the database in line with `current`; returns what changed. */
export function reconcileSessions(store: Store, current: SignedIn[], nowMs: number): SessionChange {
  return store.tx(() => {
    const open = store.openSessions();
    const openKeys = new Set(open.map((s) => key(s.user, s.line)));
    const curKeys = new Set(current.map((s) => key(s.user, s.line)));
    const started = current.filter((s) => !openKeys.has(key(s.user, s.line)));
    const endedRows = open.filter((s) => !curKeys.has(key(s.user, s.line)));
    for (const s of started) {
      store.startSession(s.user, s.line, s.host || null, s.sinceMs > 0 ? s.sinceMs : nowMs);
      store.addEvent(nowMs, 'sign-in', null, { user: s.user, line: s.line, ...(s.host ? { host: s.host } : {}) });
    }
    for (const s of endedRows) {
      store.endSession(s.id, nowMs);
      store.addEvent(nowMs, 'sign-out', null, { user: s.user, line: s.line });
    }
    return { started, ended: endedRows.map((s) => ({ user: s.user, line: s.line })), users: distinctUsers(current) };
  });
}

/** Who is signed in, once each and sorted, from a list of sessions (several per user on a terminal server). */
function distinctUsers(sessions: readonly { user: string }[]): string[] {
  return [...new Set(sessions.map((s) => s.user))].sort();
}

export class SessionWatcher {
  readonly name = 'sessions';
  private readonly source: SessionSource;
  private readonly watchPath: string | undefined;
  private readonly pollMs: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly onChange: (c: SessionChange) => void;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  /** The utmp file's version at the last scan that succeeded (fileVersion), null when unknown. */
  private scanned: string | null = null;
  private again = false;
  private stopped = false;
  users: string[] = [];

  constructor(opts: { source: SessionSource; watchPath?: string; pollMs: number; store: Store; clock: Clock; log: Logger; onChange: (c: SessionChange) => void }) {
    this.source = opts.source;
    this.watchPath = opts.watchPath;
    this.pollMs = opts.pollMs;
    this.store = opts.store;
    this.clock = opts.clock;
    this.log = opts.log;
    this.onChange = opts.onChange;
  }

  /** First scan (reconciling what happened while the agent was down), then watching. */
  async start(): Promise<SessionChange> {
    let first: SessionChange;
    try {
      first = await this.scanOnce();
    } catch (e) {
      // An unreadable session list (PowerShell blocked, utmp unreadable) must not keep the agent from
      // starting and applying the mode: until a scan succeeds, the sessions recorded before stand.
      this.log.warn({ err: (e as Error).message }, 'reading signed-in users failed at start; using the sessions recorded before until a read succeeds');
      this.users = distinctUsers(this.store.openSessions());
      first = { started: [], ended: [], users: this.users };
    }
    this.ensureWatch();
    this.timer = setInterval(() => this.periodic(), this.pollMs);
    return first;
  }

  /** The periodic safety net; true when it scanned (the file changed since the last scan, or is not watched). */
  periodic(): boolean {
    this.ensureWatch();
    if (this.watchPath && this.scanned !== null && fileVersion(this.watchPath) === this.scanned) return false;
    this.scan();
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  private ensureWatch(): void {
    if (this.stopped || this.watcher || !this.watchPath) return;
    try {
      this.watcher = watch(this.watchPath, { persistent: false }, (event) => {
        // A replaced file (rename) needs a new watch on the new inode.
        if (event === 'rename') {
          this.watcher?.close();
          this.watcher = null;
          setImmediate(() => this.ensureWatch());
        }
        if (this.debounce) clearTimeout(this.debounce);
        // utmp is written in several small writes: read once they settle.
        this.debounce = setTimeout(() => this.scan(), 50);
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // Not there yet (containers, early boot): the periodic scan retries.
    }
  }

  /** Requests a scan; overlapping requests collapse into one more scan. */
  scan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scanOnce().then(() => undefined, (e) => this.log.warn({ err: e }, 'reading signed-in users failed'))
      .finally(() => {
        this.scanning = null;
        if (this.again) {
          this.again = false;
          this.scan();
        }
      });
  }

  private async scanOnce(): Promise<SessionChange> {
    // Taken before reading: a change during the read makes the next periodic scan read again.
    const version = this.watchPath ? fileVersion(this.watchPath) : null;
    this.scanned = null;
    const current = await this.source();
    const change = reconcileSessions(this.store, current, this.clock.now());
    this.scanned = version;
    this.users = change.users;
    if (change.started.length || change.ended.length) {
      for (const s of change.started) this.log.info({ user: s.user, line: s.line }, 'sign-in');
      for (const s of change.ended) this.log.info({ user: s.user, line: s.line }, 'sign-out');
      this.onChange(change);
    }
    return change;
  }
}
