// Sparing an expensive sign-in read. Where sign-ins cannot be watched
// (Windows, macOS: no Linux utmp), the session watcher polls its source every
// sessionPollSeconds, and the full read is costly (Windows: starting
// PowerShell; macOS: systeminformation running `who` and `last`). A cheap
// "mark" taken first (Windows: qwinsta.exe's output; macOS: the utmpx file's
// inode, size and times) says whether anything can have changed: while it is
// the mark taken before the last full read, and that read is younger than
// fullEveryMs, the last list stands. The mark is only compared, never parsed,
// so it cannot decide who is signed in; a mark that cannot be taken (null)
// always means a full read.
import type { SignedIn } from './utmp.ts';
import type { SessionSource } from './sessions.ts';

/** At least this often the full list is read even when the mark did not change. */
export const FULL_EVERY_MS = 5 * 60_000;

/** What the last full read saw, and the mark taken just before it. */
export interface LastRead { mark: string; at: number; sessions: SignedIn[] }

/**
 * Whether the list read last time still stands: only with a mark equal to
 * the one taken before that read, and a read younger than fullEveryMs. A
 * clock that went back counts as old.
 */
export function lastReadStands(last: LastRead | null, mark: string | null, now: number, fullEveryMs = FULL_EVERY_MS): boolean {
  if (last === null || mark === null || mark !== last.mark) return false;
  const age = now - last.at;
  return age >= 0 && age < fullEveryMs;
}

export function gatedSource(full: SessionSource, mark: () => Promise<string | null>,
  opts: { fullEveryMs?: number; now?: () => number } = {}): SessionSource {
  const now = opts.now ?? Date.now;
  let last: LastRead | null = null;
  return async () => {
    // Taken before the full read: a change after this point gives a different mark next time.
    const m = await mark().catch(() => null);
    if (lastReadStands(last, m, now(), opts.fullEveryMs)) return last!.sessions.map((x) => ({ ...x }));
    const sessions = await full();
    last = m === null ? null : { mark: m, at: now(), sessions: sessions.map((x) => ({ ...x })) };
    return sessions;
  };
}
