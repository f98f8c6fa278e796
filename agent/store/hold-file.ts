// The learned long-poll hold (agent/sync/hold.ts), kept in longpoll-hold.json
// beside the database so that a restarted agent does not probe its network
// again from `waitSeconds`. A plain file rather than a table: it is advisory
// (a lost or damaged file only means learning again) and a schema change
// would make a downgraded agent refuse its database. Written only when what
// was learned changes (a few times after enrollment, then on a cut).
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../host/fsutil.ts';
import type { Learned } from '../sync/hold.ts';

interface HoldFile extends Learned {
  /** The server origin it was learned against: another server starts afresh. */
  server: string;
}

function whole(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** What was learned against `server`, or null (none, another server, unreadable). */
export function readLearnedHold(path: string, server: string): Learned | null {
  let v: Partial<HoldFile>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Partial<HoldFile>;
  } catch {
    return null;
  }
  if (!v || v.server !== server || !whole(v.good)) return null;
  const ceiling = whole(v.ceiling) && whole(v.ceilingAt) ? v.ceiling : null;
  return { good: v.good, ceiling, ceilingAt: ceiling === null ? null : v.ceilingAt as number };
}

export function writeLearnedHold(path: string, server: string, l: Learned): void {
  const f: HoldFile = { server, ...l };
  writeFileAtomic(path, JSON.stringify(f) + '\n', 0o600);
}
