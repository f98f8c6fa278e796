// The seat allocation as it was written before device ids were interned
// (service/licensing/allocate.ts up to commit 45f65a3): Map/Set-keyed, easy to
// read, too slow at 100,000 devices. Kept only as the reference the faster
// version must agree with, result for result, on random fleets
// (allocate-equivalence.unit.test.ts).
import type { EntitlementReason } from '../../shared/schemas/common.ts';
import { childrenIndex, descendantsAndSelf } from '../../service/licensing/graph.ts';
import {
  subscriptionState, type AllocInput, type AllocMembership, type AllocResult, type DeviceEntitlement, type SubscriptionUsage,
} from '../../service/licensing/allocate.ts';

// Which unlicensed reason wins when several apply: the most actionable one.
const UNLICENSED_RANK: Partial<Record<EntitlementReason, number>> = {
  SEATS_EXHAUSTED: 3, SUBSCRIPTION_SUSPENDED: 2, SUBSCRIPTION_EXPIRED: 1, NOT_IN_LICENSED_GROUP: 0,
};

export function allocateSeatsReference(input: AllocInput): AllocResult {
  const membersByGroup = new Map<string, AllocMembership[]>();
  for (const m of input.memberships) {
    let list = membersByGroup.get(m.groupId);
    if (!list) membersByGroup.set(m.groupId, (list = []));
    list.push(m);
  }
  // Out of the seat race: disabled or retired (retired is the reason shown when both apply).
  const disabled = new Set(input.devices.filter((d) => d.disabled || d.retired).map((d) => d.id));
  const known = new Set(input.devices.map((d) => d.id));
  const result = new Map<string, DeviceEntitlement>();
  const unlicensed = (reason: EntitlementReason): DeviceEntitlement =>
    ({ status: 'unlicensed', reason, product: null, subscription: null, group: null });
  for (const d of input.devices) result.set(d.id, unlicensed(d.retired ? 'DEVICE_RETIRED' : d.disabled ? 'DEVICE_DISABLED' : 'NOT_IN_LICENSED_GROUP'));

  const assignmentsBySub = new Map<string, string[]>();
  for (const a of input.assignments) {
    let list = assignmentsBySub.get(a.subscriptionId);
    if (!list) assignmentsBySub.set(a.subscriptionId, (list = []));
    list.push(a.groupId);
  }

  const children = childrenIndex(input.edges);
  const seatedProducts = new Map<string, Set<string>>();
  const usage = new Map<string, SubscriptionUsage>();
  const groupsReached = new Map<string, number>();
  const subs = [...input.subscriptions].sort((a, b) => a.ord - b.ord);

  // Per subscription, the enabled devices it reached but had no seat for.
  const leftWithoutSeat = new Map<string, string[]>();

  for (const sub of subs) {
    const use: SubscriptionUsage = { seatsUsed: 0, seatsExhausted: 0, devicesReached: 0 };
    usage.set(sub.id, use);
    const noSeat: string[] = [];
    leftWithoutSeat.set(sub.id, noSeat);
    // device -> earliest membership ord and the licensed group that reached it
    const candidates = new Map<string, { ord: number; group: string }>();
    for (const groupId of (assignmentsBySub.get(sub.id) ?? []).sort()) {
      let reached = 0;
      const seen = new Set<string>();
      for (const g of descendantsAndSelf(groupId, input.edges, children)) {
        for (const m of membersByGroup.get(g) ?? []) {
          if (!known.has(m.deviceId)) continue;
          if (!seen.has(m.deviceId)) { seen.add(m.deviceId); reached++; }
          const c = candidates.get(m.deviceId);
          if (!c || m.ord < c.ord) candidates.set(m.deviceId, { ord: m.ord, group: groupId });
        }
      }
      groupsReached.set(groupId, reached);
    }
    use.devicesReached = candidates.size;
    const ordered = [...candidates.entries()].sort((a, b) => a[1].ord - b[1].ord);
    const state = subscriptionState(sub, input.now);
    for (const [deviceId, { group }] of ordered) {
      if (disabled.has(deviceId)) continue;
      const current = result.get(deviceId)!;
      if (current.status === 'licensed' && current.product === sub.productSku) continue;
      if (seatedProducts.get(deviceId)?.has(sub.productSku)) continue;
      let reason: EntitlementReason;
      if (state === 'active' && use.seatsUsed < sub.seats) {
        use.seatsUsed++;
        let set = seatedProducts.get(deviceId);
        if (!set) seatedProducts.set(deviceId, (set = new Set()));
        set.add(sub.productSku);
        if (current.status !== 'licensed') {
          result.set(deviceId, { status: 'licensed', reason: 'ASSIGNED', product: sub.productSku, subscription: sub.id, group });
        }
        continue;
      }
      if (state === 'active') { noSeat.push(deviceId); reason = 'SEATS_EXHAUSTED'; }
      else reason = state === 'expired' ? 'SUBSCRIPTION_EXPIRED' : 'SUBSCRIPTION_SUSPENDED';
      if (current.status === 'licensed') continue;
      if ((UNLICENSED_RANK[reason] ?? 0) > (UNLICENSED_RANK[current.reason] ?? 0)) {
        result.set(deviceId, { status: 'unlicensed', reason, product: sub.productSku, subscription: sub.id, group });
      }
    }
  }
  // Exhausted: reached by this subscription, no seat from it, and no seat of its product from any other
  // (a device seated later by another subscription of the same product no longer counts).
  for (const sub of subs) {
    usage.get(sub.id)!.seatsExhausted = leftWithoutSeat.get(sub.id)!.filter((d) => !seatedProducts.get(d)?.has(sub.productSku)).length;
  }
  return { devices: result, subscriptions: usage, groupsReached };
}
