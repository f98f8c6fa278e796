// A device joins (or leaves) its directory groups when it enrolls, enrolls
// again (perhaps under another hostname), is merged, retired or restored:
// at once, in the caller's transaction, before its entitlement recompute,
// instead of at the directory's next sync. Matched against what the last
// sync read of each directory group (directory_computers), with the same
// rules as the sync (match.ts, applied by sync.ts applyMembers): only the
// groups one of whose computers has the device's hostname (before or after
// the change) as a match key, or that hold the device now, are recomputed,
// and wholly, so a second device reporting the same hostname makes the
// computer ambiguous here as it would at a sync. The directory itself is
// not asked: a computer added there since the last sync still waits for it.
import type { Aggregates } from '../store/store.ts';
import { hostKey } from './match.ts';
import { applyMembers } from './sync.ts';

/** The hostname a device reported (facts.hostname), retired or not; null when unknown. */
export async function reportedHostname(q: Aggregates, deviceId: string): Promise<string | null> {
  const row = await q.devices.get(deviceId);
  if (!row) return null;
  try {
    const h = (JSON.parse(row.facts) as { hostname?: unknown }).hostname;
    return typeof h === 'string' ? h : null;
  } catch {
    return null;
  }
}

/**
 * Brings the directory groups that can concern these devices in line with
 * the last sync. `hostnames`: every hostname they had before the change and
 * have now (a retired device matches nothing, so it leaves).
 */
export async function placeInDirectoryGroups(q: Aggregates, at: string, deviceIds: readonly string[], hostnames: readonly (string | null)[]): Promise<{ added: number; removed: number }> {
  const keys = [...new Set(hostnames.filter((h): h is string => !!h).map(hostKey).filter((k) => k !== ''))];
  const groups = new Set(await q.directories.groupsWithKeys(keys));
  for (const d of deviceIds) for (const g of await q.directories.directoryGroupsOf(d)) groups.add(g);
  if (groups.size === 0) return { added: 0, removed: 0 };
  const m = await applyMembers(q, await q.directories.computersOf([...groups]), at);
  return { added: m.added, removed: m.removed };
}
