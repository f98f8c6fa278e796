// How devlic-admin shows per-user licences (issue 16): user groups, their
// members, assignments of user products' subscriptions.
import type { UserAssignment, UserGroup } from '../../shared/schemas/user-admin.ts';
import { formatKeyValue, formatTable, formatTime, plural, sanitize } from './table.ts';
import type { ListAnswer } from './render.ts';

export function renderUserGroups(list: ListAnswer<UserGroup>): string {
  if (list.items.length === 0) return "No user groups (create one with 'devlic-admin user-groups create NAME').\n";
  return formatTable(['ID', 'NAME', 'PEOPLE', 'SUBSCRIPTION', 'DIRECTORY', 'LAST SYNC'],
    list.items.map((g) => [g.id, g.name, g.memberCount, g.subscription ? g.subscription.name : '-', g.directory ? g.directory.name : '-', g.directory ? lastSync(g.directory) : '-']),
    ['left', 'left', 'right']);
}

/** "2026-12-03 05:10 ok" or "... FAILED" (a failed sync changed nothing), or "never". */
function lastSync(d: NonNullable<UserGroup['directory']>): string {
  return d.lastSync ? `${formatTime(d.lastSync.at)} ${d.lastSync.ok ? 'ok' : 'FAILED'}` : 'never';
}

export function renderUserGroup(g: UserGroup): string {
  const shown = g.members.length < g.memberCount ? ` (first ${g.members.length} shown)` : '';
  const d = g.directory;
  const rows: [string, unknown][] = [
    ['ID', g.id],
    ['Name', g.name],
    ['People', `${g.memberCount}${shown}`],
    ['Subscription', g.subscription ? `${g.subscription.name} (${g.subscription.id})` : 'none'],
  ];
  if (d) {
    rows.push(['Directory', `${d.dn} in ${d.name} (members synced from it; no hand edits)`], ['Last sync', lastSync(d)]);
    if (d.lastSync && !d.lastSync.ok) rows.push(['Sync error', `${d.lastSync.error ?? '-'} (no membership was changed)`]);
    if (d.group) {
      rows.push(['Last good sync', `${formatTime(d.group.at)}: ${plural(d.group.people, 'person', 'people')} in ${plural(d.group.directoryGroups, 'directory group')}, +${d.group.added} -${d.group.removed}, ${d.group.skipped} skipped`]);
      for (const x of d.group.skippedSample) rows.push(['Skipped', `${x.dn}: ${x.error}`]);
    }
  }
  rows.push(['Members', g.members.length ? g.members.join(', ') : '-']);
  return formatKeyValue(rows);
}

export function userGroupChanged(message: (g: string, body: Record<string, unknown>) => string) {
  return (g: UserGroup, ctx: { body?: unknown }): string => `${message(`'${sanitize(g.name)}'`, (ctx.body ?? {}) as Record<string, unknown>)}\n\n${renderUserGroup(g)}`;
}

/** "2 people" from a UserGroupUsersBody that was sent. */
export function peopleCount(body: Record<string, unknown>): string {
  return Array.isArray(body.users) ? plural(body.users.length, 'person', 'people') : 'people';
}

export function renderUserAssignments(list: ListAnswer<UserAssignment>): string {
  if (list.items.length === 0) return "No user licence assignments (assign with 'devlic-admin licenses assign --user-group G').\n";
  return formatTable(['ID', 'SUBSCRIPTION', 'USER GROUP', 'PRODUCT', 'ASSIGNED'],
    list.items.map((a) => [a.id, a.subscription.name, a.userGroup.name, a.product, formatTime(a.createdAt)]));
}

export function renderUserAssigned(a: UserAssignment): string {
  return `Assigned subscription '${sanitize(a.subscription.name)}' to user group '${sanitize(a.userGroup.name)}' (${sanitize(a.product)}).\n`
    + 'Its members get full apps on any enrolled device they sign in on; online devices pick it up within seconds.\n';
}

export function renderUserUnassigned(r: { id: string; subscription: string; userGroup: string }): string {
  return `Unassigned subscription ${sanitize(r.subscription)} from user group ${sanitize(r.userGroup)}: its members keep full apps only where a device licence covers them.\n`;
}
