// How devlic-admin shows devices: the fleet list (with its page note), one
// device in full, and the answers to disable/enable, retire/restore and merge,
// which end with the device's summary. Split from render.ts (one file per
// aggregate, like render-users.ts).
import type { DeviceDetail, DeviceView, MergeResult } from '../../shared/schemas/fleet.ts';
import { formatKeyValue, formatRelative, formatTable, formatTime, names, sanitize, truncate } from './table.ts';
import { empty, labelled, pageNote, type ListAnswer, type RenderContext } from './render.ts';

export function renderDevices(list: ListAnswer<DeviceView> & { next?: string | null; totalAsOf?: string | null }, ctx: RenderContext): string {
  if (list.items.length === 0) {
    return list.total > 0 ? `No devices on this page (${list.total} in total; lower --offset).\n` : empty('devices');
  }
  const table = formatTable(
    ['ID', 'NAME', 'GROUPS', 'SEAT', 'REASON', 'LAST MODE', 'ENFORCED', 'LAST SEEN', 'USERS'],
    list.items.map((d) => [
      d.id, d.name, names(d.groups, 30), d.licensed ? 'yes' : 'no',
      d.retired ? `RETIRED ${formatTime(d.retired.at).slice(0, 10)} by ${d.retired.by.name}` : d.reason, d.lastMode ?? '-',
      enforcedCell(d),
      formatRelative(d.lastSeenAt, ctx.now), d.users.length ? truncate(d.users.map((u) => u.name).join(', '), 40) : '-',
    ]),
  );
  // The cursor of the next page when there may be one: --after costs the same at any depth, --offset walks what it skips.
  const more = list.next ? `next page: --after ${list.next}` : 'use --offset and --limit to see more';
  // A page by --after repeats the total its walk's first page counted: say when, not as if counted now.
  const what = list.totalAsOf ? `devices (total as counted at ${formatTime(list.totalAsOf)}, on the first page)` : 'devices';
  return table + pageNote(list.items.length, list.total, what, more);
}

/** yes / NO (the failing enforcers) / unknown: an agent that does not report it is not shown as enforced. */
export function enforcedCell(d: Pick<DeviceView, 'enforcement'>): string {
  const e = d.enforcement;
  if (e.ok === null) return 'unknown';
  if (e.ok) return 'yes';
  return `NO (${truncate(e.failing.map((f) => f.enforcer).join(', '), 30)})`;
}

function deviceSummary(d: DeviceView, ctx: RenderContext): Array<[string, unknown]> {
  return [
    ['ID', d.id],
    ['Name', d.name],
    ['Licensed', d.licensed ? `yes: ${d.product ?? '-'} from ${labelled(d.subscription)} via group ${labelled(d.licenseGroup)}` : `no (${d.reason})`],
    ['Disabled', d.disabled ? 'yes' : 'no'],
    ...(d.retired ? [['Retired', `${formatTime(d.retired.at)} by ${d.retired.by.name}${d.retired.reason === 'stale' ? ' (not seen for too long)' : ''}; 'devlic-admin devices restore ${d.id}' undoes it`] as [string, unknown]] : []),
    ['Groups', d.groups.length ? d.groups.map(labelled).join(', ') : 'none'],
    ['Last seen', d.lastSeenAt ? `${formatRelative(d.lastSeenAt, ctx.now)} (${formatTime(d.lastSeenAt)})` : 'never'],
    ['Last mode', d.lastMode ? `${d.lastMode}${d.lastReason ? ` (${d.lastReason})` : ''}` : '-'],
    ['Enforced', d.enforcement.ok === false
      ? `NO: ${d.enforcement.failing.map((f) => `${f.enforcer}: ${f.reason}`).join('; ')}`
      : d.enforcement.ok ? 'yes: every enforcer holds the mode' : 'unknown (no report says; agents older than this report do not)'],
    ['Users', d.users.length ? d.users.map((u) => `${u.name} (${u.mode}${u.licence ? `, ${u.licence} licence` : ''}${u.person ? `, as ${u.person}` : ''})`).join(', ') : 'none signed in'],
    ...(d.duplicateOf ? [['Possible duplicate of', `${labelled(d.duplicateOf)}: same hardware, enrolled without proving it is that device (devlic-admin devices merge ${d.id} ${d.duplicateOf.id} if it is)`] as [string, unknown]] : []),
  ];
}

export function renderDevice(d: DeviceDetail, ctx: RenderContext): string {
  const f = d.facts;
  let out = formatKeyValue([
    ...deviceSummary(d, ctx),
    ['Agent version', d.agentVersion ?? '-'],
    ['Entitlement seq', d.entitlementSeq],
    ['Offline until', d.cacheExpiresAt ? `${formatTime(d.cacheExpiresAt)} (${formatRelative(d.cacheExpiresAt, ctx.now)})` : '-'],
    ['Enrolled', formatTime(d.enrolledAt)],
    ['Tags', d.tags?.length ? d.tags.join(', ') : '-'],
    ['Hostname', f?.hostname ?? '-'],
    ['Hardware', f ? [f.manufacturer, f.model].filter(Boolean).join(' ') || '-' : '-'],
    ['Serial', f?.serial || '-'],
    ['Hardware UUID', f?.hardwareUuid || '-'],
    ['Machine id hash', f?.machineIdHash || '-'],
    ...(f?.redacted ? [['Identifiers', 'shown as short hashes (raw values need a global-admin token)'] as [string, unknown]] : []),
    ['OS', f?.os || '-'],
    ['OS version', d.osVersion ?? '-'],
    ['Last error', d.lastError ?? 'none'],
  ]);
  const reports = d.reports ?? [];
  if (reports.length > 0) {
    out += '\nRecent reports:\n' + formatTable(
      ['AT', 'MODE', 'REASON', 'USERS', 'AGENT', 'ERROR'],
      reports.map((r) => [
        formatTime(r.at), r.mode, r.reason, r.users.length ? truncate(r.users.map((u) => u.name).join(', '), 30) : '-',
        r.agentVersion, r.lastError ? truncate(r.lastError, 60) : '-',
      ]),
    );
  }
  return out;
}

export function deviceChanged(disabled: boolean) {
  return (d: DeviceView, ctx: RenderContext): string => {
    const head = disabled
      ? `Disabled device '${sanitize(d.name)}' (${sanitize(d.id)}): it has no licence and switches to read-only at its next sync.`
      : `Enabled device '${sanitize(d.name)}' (${sanitize(d.id)}): it is licensed again if one of its groups has a subscription with a free seat.`;
    return `${head}\n\n${formatKeyValue(deviceSummary(d, ctx))}`;
  };
}

export function renderRetired(d: DeviceView, ctx: RenderContext): string {
  return `Retired device '${sanitize(d.name)}' (${sanitize(d.id)}): it holds no seat from now on (any seat it had went to the next device in line) and its agent switches to read-only (DEVICE_RETIRED) within seconds when online.\n\n`
    + formatKeyValue(deviceSummary(d, ctx));
}

export function renderRestored(d: DeviceView, ctx: RenderContext): string {
  return `Restored device '${sanitize(d.name)}' (${sanitize(d.id)}): ${d.licensed ? 'it has a seat again' : `it has no seat (${d.reason})`}.\n\n`
    + formatKeyValue(deviceSummary(d, ctx));
}

export function renderMerged(m: MergeResult, ctx: RenderContext): string {
  return `Merged device ${sanitize(m.retired)} into '${sanitize(m.device.name)}' (${sanitize(m.id)}): it keeps its groups and seat and now uses the key of ${sanitize(m.retired)}, whose agent switches to ${sanitize(m.id)} at its next request.\n\n`
    + formatKeyValue(deviceSummary(m.device, ctx));
}
