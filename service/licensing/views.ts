// Read models: the admin API's objects built from the database. Seat counts
// come from the usage tables that every recompute writes in the same
// transaction as the entitlements, so what an admin sees is what devices get.
import type { Aggregates } from '../store/store.ts';
import { createHash } from 'node:crypto';
import type { Product, Subscription } from '../../shared/schemas/subscriptions.ts';
import type { Group } from '../../shared/schemas/groups.ts';
import type { Assignment } from '../../shared/schemas/assignments.ts';
import type {
  DeviceDetail, DeviceEnforcement, DeviceFactsView, DeviceList, DeviceListQuery, DeviceView,
} from '../../shared/schemas/fleet.ts';
import type { EnrollToken } from '../../shared/schemas/enroll-tokens.ts';
import type { Admin } from '../../shared/schemas/admins.ts';
import type { DeviceFacts, EnforcerHealth, ReportedUser } from '../../shared/schemas/device.ts';
import { subscriptionState } from './allocate.ts';
import { resolveRef } from './resolve.ts';
import type { DeviceFilter } from '../store/queries/views.ts';
import { DevlicError } from '../../shared/errors.ts';
import { decodeDeviceCursor, encodeDeviceCursor, filterKey } from './device-cursor.ts';
import { withPersons, type SignInDomains } from '../../shared/sign-in-domains.ts';
import { loadSignInDomains } from './sign-in-domains.ts';

type Named = { id: string; name: string };
const iso = (v: string | null) => v;

export async function listProducts(q: Aggregates, now: number): Promise<Product[]> {
  const subs = await q.views.subscriptionsWithUsage();
  return (await q.catalogue.list()).map((p) => {
    let total = 0, used = 0;
    for (const s of subs) {
      if (s.product_sku !== p.sku) continue;
      const state = subscriptionState({ ...s, termEnd: s.term_end ? Date.parse(s.term_end) : null, suspended: !!s.suspended }, now);
      if (state !== 'active') continue;
      total += s.seats;
      used += s.seats_used;
    }
    return { id: p.sku, sku: p.sku, name: p.name, channel: p.channel, kind: p.kind, seatsTotal: total, seatsAssigned: used, seatsAvailable: Math.max(0, total - used) };
  });
}

export async function listSubscriptions(q: Aggregates, now: number, id?: string): Promise<Subscription[]> {
  const rows = await q.views.subscriptions(id);
  return Promise.all(rows.map(async (s) => ({
    id: s.id, name: s.name, product: s.product_sku, productName: s.product_name, seats: s.seats,
    seatsUsed: s.seats_used ?? 0, seatsExhausted: s.seats_exhausted ?? 0, termEnd: iso(s.term_end),
    status: subscriptionState({ id: s.id, productSku: s.product_sku, seats: s.seats, termEnd: s.term_end ? Date.parse(s.term_end) : null, suspended: !!s.suspended, ord: s.ord }, now),
    groups: await q.views.groupsOfSubscription(s.id), createdAt: s.created_at,
  })));
}

/** Direct members listed by `GET /groups/:ref` (deviceCount has the full count). */
const MEMBERS_SHOWN = 1000;

const whyOf = (g: { rule: string | null; directory_id: string | null }) => (g.rule ? 'rule' as const : g.directory_id ? 'directory' as const : 'manual' as const);

export async function listGroups(q: Aggregates, opts: { id?: string; q?: string; withMembers?: boolean } = {}): Promise<Group[]> {
  const rows = await q.views.groups(opts);
  return Promise.all(rows.map(async (g) => ({
    id: g.id, name: g.name, deviceCount: g.device_count,
    parents: await q.views.parentsOf(g.id), children: await q.views.childrenOf(g.id),
    subscription: g.sub_id ? { id: g.sub_id, name: g.sub_name } : null, createdAt: g.created_at,
    rule: g.rule ?? null,
    directory: g.directory_id ? { id: g.directory_id, name: g.directory_name, dn: g.directory_dn } : null,
    // A rule group's members all come from its rule, a directory group's from its directory (hand edits are refused); any other group's by hand.
    ...(opts.withMembers ? { members: (await q.rules.membersOf(g.id, MEMBERS_SHOWN)).map((m) => ({ ...m, why: whyOf(g) })) } : {}),
  })));
}

export async function listAssignments(q: Aggregates, id?: string): Promise<Assignment[]> {
  return (await q.views.assignments(id)).map((r) => ({
    id: r.id, subscription: { id: r.sub_id, name: r.sub_name }, group: { id: r.group_id, name: r.group_name },
    product: r.product_sku, createdAt: r.created_at, devicesReached: r.devices_reached,
  }));
}

/** Groups of each listed device: one query for a page's ids, one pass over all memberships for an export. */
async function groupsLookup(q: Aggregates, ids: string[]): Promise<(deviceId: string) => Named[]> {
  const all = new Map<string, Named[]>();
  for (const m of ids.length <= 1000 ? await q.views.groupsOfDevices(ids) : await q.views.allMemberships()) {
    let list = all.get(m.device_id);
    if (!list) all.set(m.device_id, (list = []));
    list.push({ id: m.id, name: m.name });
  }
  return (id) => all.get(id) ?? [];
}

function deviceRow(r: any, groups: Named[], domains: SignInDomains): DeviceView {
  const report = r.last_report ? JSON.parse(r.last_report) : null;
  return {
    id: r.id, name: r.name, groups,
    licensed: r.status === 'licensed', reason: r.reason ?? 'NOT_IN_LICENSED_GROUP', product: r.product_sku ?? null,
    subscription: r.subscription_id ? { id: r.subscription_id, name: r.sub_name } : null,
    licenseGroup: r.lic_group_id ? { id: r.lic_group_id, name: r.lic_group_name } : null,
    entitlementSeq: r.seq ?? 0, disabled: !!r.disabled,
    lastMode: report?.mode ?? null, lastReason: report?.reason ?? null, lastSeenAt: r.last_seen_at ?? null,
    users: withPersons(report?.users ?? [], domains), agentVersion: report?.agentVersion ?? null, cacheExpiresAt: report?.cacheExpiresAt ?? null,
    enforcement: enforcementView(report),
    enrolledAt: r.enrolled_at,
    duplicateOf: r.duplicate_of ? { id: r.duplicate_of, name: r.dup_name ?? r.duplicate_of } : null,
    retired: r.retired_at ? { at: r.retired_at, by: { id: r.retired_by_id, name: r.retired_by_name }, reason: r.retired_reason === 'stale' ? 'stale' : 'admin' } : null,
  };
}

/** What the last report says about the enforcers; an older agent's report (no field) is unknown, not ok. */
export function enforcementView(report: { enforcement?: unknown } | null): DeviceEnforcement {
  const list = Array.isArray(report?.enforcement) ? report.enforcement as EnforcerHealth[] : [];
  if (list.length === 0) return { ok: null, failing: [] };
  const failing = list.filter((e) => !e.ok).map((e) => ({ enforcer: e.enforcer, reason: e.reason ?? 'failed' }));
  return { ok: failing.length === 0, failing };
}

/** A short, stable stand-in for a hardware identifier: equal values stay recognisably equal. */
export function shortHash(value: string): string {
  return `sha256:${createHash('sha256').update(String(value ?? '')).digest('hex').slice(0, 12)}`;
}

/** The facts an admin sees: readers get short hashes of the identifiers a takeover would need. */
export function factsView(facts: DeviceFacts, raw: boolean): DeviceFactsView {
  if (raw) return { ...facts, redacted: false };
  return {
    ...facts, redacted: true,
    machineIdHash: shortHash(facts.machineIdHash), hardwareUuid: shortHash(facts.hardwareUuid), serial: shortHash(facts.serial),
  };
}

// `now` defaults to the wall clock because the route passes only the query; stale is relative to it.
export async function listDevices(q: Aggregates, query: DeviceListQuery, now: number = Date.now()): Promise<DeviceList> {
  if (query.after !== undefined && query.offset !== undefined) throw new DevlicError('BAD_REQUEST', 'give after (a cursor) or offset, not both');
  const after = query.after === undefined ? undefined : decodeDeviceCursor(query.after);
  const filter: DeviceFilter = {
    licensed: query.licensed === 'true' ? true : query.licensed === 'false' ? false : undefined,
    reason: query.reason, q: query.q, mode: query.mode,
    enforced: query.enforced === 'true' ? 'ok' : query.enforced === 'false' ? 'failing' : query.enforced === 'unknown' ? null : undefined,
    groupId: query.group ? await resolveRef(q, 'group', query.group) : undefined,
    subscriptionId: query.subscription ? await resolveRef(q, 'subscription', query.subscription) : undefined,
    retired: query.retired === 'true' ? true : query.retired === 'false' ? false : undefined,
    seenBefore: query.staleMinutes ? new Date(now - query.staleMinutes * 60_000).toISOString() : undefined,
  };
  // A page by cursor takes the total its walk's first page counted (carried in the cursor): counting a filter
  // that entitlement_counts does not answer scans the fleet, on every page of a walk of a thousand pages.
  // totalAsOf says so, for clients to show the total as of then.
  // Keyed by the query's own filter parameters (staleMinutes, not the instant it resolves to).
  const { after: _after, offset: _offset, limit: _limit, recount, ...asked } = query;
  const key = filterKey(asked);
  // A cursor given with another filter counts again, as does one asked to (recount: the console's views).
  const carried = after?.total?.filter === key && recount !== 'true' ? after.total : undefined;
  const counted = carried ?? { n: await q.views.deviceCount(filter), at: new Date(now).toISOString(), filter: key };
  const limit = query.limit ?? 100;
  const rows = await q.views.devices(filter, limit, after ? { after } : { offset: query.offset ?? 0 });
  const groupsOf = await groupsLookup(q, rows.map((r) => r.id));
  // A full page may have a successor: its last row is where the next one starts (an empty next page ends the walk).
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  const domains = await loadSignInDomains(q);
  return {
    items: rows.map((r) => deviceRow(r, groupsOf(r.id), domains)), total: counted.n, totalAsOf: carried ? counted.at : null,
    next: last ? encodeDeviceCursor({ enrolledAt: last.enrolled_at, id: last.id, total: counted }) : null,
  };
}

export async function getDevice(q: Aggregates, id: string, opts: { rawFacts: boolean }): Promise<DeviceDetail> {
  const r = await q.views.device(id);
  const report = r.last_report ? JSON.parse(r.last_report) : null;
  const domains = await loadSignInDomains(q);
  const reports = (await q.views.reports(id, 20))
    .map((x) => { const rep = JSON.parse(x.report); return { at: x.at, mode: rep.mode, reason: rep.reason, users: withPersons<ReportedUser>(rep.users ?? [], domains), agentVersion: rep.agentVersion, lastError: rep.lastError }; });
  const tags = (await q.rules.tags(id)).map((t) => t.tag);
  return { ...deviceRow(r, await q.views.groupsOfDevice(id), domains), facts: factsView(JSON.parse(r.facts), opts.rawFacts), tags, osVersion: r.os_version ?? null, lastError: report?.lastError ?? null, reports };
}

const revokedBy = (r: any) => (r.revoked_at ? { id: r.revoked_by_id, name: r.revoked_by_name } : null);

export function enrollTokenStatus(t: { revoked_at: string | null; expires_at: string; uses_left: number }, now: number): EnrollToken['status'] {
  if (t.revoked_at) return 'revoked';
  if (Date.parse(t.expires_at) <= now) return 'expired';
  return t.uses_left <= 0 ? 'used-up' : 'active';
}

export async function listEnrollTokens(q: Aggregates, id?: string, now: number = Date.now()): Promise<EnrollToken[]> {
  return (await q.views.enrollTokens(id))
    .map((t) => ({
      id: t.id, expiresAt: t.expires_at, usesLeft: t.uses_left, status: enrollTokenStatus(t, now),
      revokedAt: t.revoked_at ?? null, revokedBy: revokedBy(t),
      group: t.gid ? { id: t.gid, name: t.gname } : null, createdAt: t.created_at,
    }));
}

export async function listAdmins(q: Aggregates, id?: string): Promise<Admin[]> {
  return (await q.views.admins(id))
    .map((a) => ({ id: a.id, name: a.name, role: a.role, createdAt: a.created_at, revokedAt: a.revoked_at ?? null, revokedBy: revokedBy(a) }));
}

export { listAudit } from './audit-view.ts';
