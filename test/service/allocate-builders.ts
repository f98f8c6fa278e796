// Builders shared by the seat-allocation unit tests (allocate-*.unit.test.ts):
// subscriptions, memberships in ord order, inputs with a fixed now, lookups
// into a result, and shuffles for the order-independence checks.
import type { AllocInput, AllocMembership, AllocResult, AllocSubscription, DeviceEntitlement } from '../../service/licensing/allocate.ts';

export const NOW = Date.UTC(2025, 0, 15);
export const DAY = 86_400_000;
export const EA = 'M365_APPS_ENTERPRISE_DEVICE';
export const EDU = 'M365_APPS_EDUCATION_DEVICE';

export function sub(id: string, seats: number, extra: Partial<AllocSubscription> = {}): AllocSubscription {
  return { id, productSku: EA, seats, termEnd: null, suspended: false, ord: Number(id.replace(/\D/g, '') || 1), ...extra };
}

/** Memberships with a global, ever-increasing ord in the order given: [group, device][]. */
export function members(pairs: [string, string][], startOrd = 1): AllocMembership[] {
  return pairs.map(([groupId, deviceId], i) => ({ groupId, deviceId, ord: startOrd + i }));
}

export function devs(...ids: string[]) {
  return ids.map((id) => ({ id, disabled: false }));
}

export function input(p: Partial<AllocInput>): AllocInput {
  return { now: NOW, subscriptions: [], assignments: [], edges: [], memberships: [], devices: [], ...p };
}

export function dev(r: AllocResult, id: string): DeviceEntitlement {
  const e = r.devices.get(id);
  if (!e) throw new Error(`no entitlement for ${id}`);
  return e;
}

export function licensedIds(r: AllocResult): string[] {
  return [...r.devices].filter(([, e]) => e.status === 'licensed').map(([id]) => id).sort();
}

/** Maps as sorted plain arrays, so two results compare with toEqual whatever the insertion order. */
export function canonical(r: AllocResult) {
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { devices: sorted(r.devices), subscriptions: sorted(r.subscriptions), groupsReached: sorted(r.groupsReached) };
}

export function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function shuffleInput(inp: AllocInput, rnd: () => number): AllocInput {
  return {
    now: inp.now,
    subscriptions: shuffled(inp.subscriptions, rnd),
    assignments: shuffled(inp.assignments, rnd),
    edges: shuffled(inp.edges, rnd),
    memberships: shuffled(inp.memberships, rnd),
    devices: shuffled(inp.devices, rnd),
  };
}
