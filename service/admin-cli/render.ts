// Human-readable output of each devlic-admin command: turns the admin API's
// objects into tables and short messages. Pure functions of (answer, context);
// `--json` bypasses this module and prints the API's objects as they are.
import type { Deleted, Impact } from '../../shared/schemas/admin.ts';
import type { Product, Subscription } from '../../shared/schemas/subscriptions.ts';
import type { Group, RulePreview } from '../../shared/schemas/groups.ts';
import type { Assignment, UnassignResult } from '../../shared/schemas/assignments.ts';
import type { EnrollToken } from '../../shared/schemas/enroll-tokens.ts';
import type { Admin } from '../../shared/schemas/admins.ts';
import type { AuditEvent } from '../../shared/schemas/audit.ts';
import { formatKeyValue, formatRelative, formatTable, formatTime, names, plural, sanitize, truncate } from './table.ts';

export interface RenderContext {
  /** The clock, passed in so output is testable. */
  now: Date;
  /** The service URL in use, for hints such as the agent's enroll command. */
  server: string;
  /** The body that was sent, when the message should name what was asked for. */
  body?: unknown;
}

export interface ListAnswer<T> {
  items: T[];
  total: number;
}

type Named = { id: string; name: string } | null | undefined;

function ref(x: Named): string {
  return x ? x.name : '-';
}

export function labelled(x: Named): string {
  return x ? `${x.name} (${x.id})` : '-';
}

export function empty(what: string): string {
  return `No ${what}.\n`;
}

/** Footer for lists the service pages: "Showing 50 of 120 devices ...". */
export function pageNote(shown: number, total: number, what: string, hint: string): string {
  return total > shown ? `\nShowing ${shown} of ${total} ${what}; ${hint}.\n` : '';
}

// ---- products -------------------------------------------------------------

export function renderProducts(list: ListAnswer<Product>): string {
  if (list.items.length === 0) return empty('products in the catalogue');
  return formatTable(
    ['SKU', 'NAME', 'CHANNEL', 'TOTAL', 'ASSIGNED', 'AVAILABLE'],
    list.items.map((p) => [p.sku, p.name, p.channel, p.seatsTotal, p.seatsAssigned, p.seatsAvailable]),
    ['left', 'left', 'left', 'right', 'right', 'right'],
  );
}

// ---- subscriptions --------------------------------------------------------

export function renderSubscriptions(list: ListAnswer<Subscription>): string {
  if (list.items.length === 0) return empty("subscriptions (add one with 'devlic-admin subscriptions add')");
  return formatTable(
    ['ID', 'NAME', 'PRODUCT', 'SEATS', 'USED', 'NO SEAT', 'STATUS', 'TERM END', 'GROUPS'],
    list.items.map((s) => [
      s.id, s.name, s.product, s.seats, s.seatsUsed, s.seatsExhausted, s.status,
      s.termEnd ? formatTime(s.termEnd).slice(0, 10) : 'none', names(s.groups),
    ]),
    ['left', 'left', 'left', 'right', 'right', 'right'],
  );
}

export function renderSubscription(s: Subscription): string {
  const out = formatKeyValue([
    ['ID', s.id],
    ['Name', s.name],
    ['Product', `${s.productName} (${s.product})`],
    ['Seats', `${s.seatsUsed} of ${s.seats} used`],
    ['No seat', s.seatsExhausted > 0 ? `${plural(s.seatsExhausted, 'device')} in licensed groups got no seat (raise --seats)` : '0'],
    ['Status', s.status],
    ['Term end', s.termEnd ? formatTime(s.termEnd) : 'none'],
    ['Groups', s.groups.length ? s.groups.map(labelled).join(', ') : "none (assign with 'devlic-admin licenses assign')"],
    ['Created', formatTime(s.createdAt)],
  ]);
  return out;
}

export function renderSubscriptionCreated(s: Subscription): string {
  return `Created subscription '${sanitize(s.name)}' (${sanitize(s.id)}).\n\n${renderSubscription(s)}`;
}

export function renderSubscriptionUpdated(s: Subscription): string {
  return `Updated subscription '${sanitize(s.name)}' (${sanitize(s.id)}).\n\n${renderSubscription(s)}`;
}

// ---- groups ---------------------------------------------------------------

export function renderGroups(list: ListAnswer<Group>): string {
  if (list.items.length === 0) return empty("groups (create one with 'devlic-admin groups create NAME')");
  return formatTable(
    ['ID', 'NAME', 'DEVICES', 'SUBSCRIPTION', 'PARENTS', 'CHILDREN'],
    list.items.map((g) => [g.id, g.name, g.deviceCount, ref(g.subscription), names(g.parents), names(g.children)]),
    ['left', 'left', 'right'],
  );
}

export function renderGroup(g: Group): string {
  return formatKeyValue([
    ['ID', g.id],
    ['Name', g.name],
    ['Devices', `${g.deviceCount} direct`],
    ['Subscription', g.subscription ? labelled(g.subscription) : 'none'],
    ['Parents', g.parents.length ? g.parents.map(labelled).join(', ') : 'none'],
    ['Nested groups', g.children.length ? g.children.map(labelled).join(', ') : 'none'],
    ['Rule', g.rule === null ? (g.directory ? 'none' : 'none (members added by hand)') : g.rule],
    ...(g.directory ? [['Directory', `${g.directory.dn} in ${g.directory.name} (members follow it)`] as [string, unknown]] : []),
    ['Created', formatTime(g.createdAt)],
  ]) + renderMembers(g);
}

/** `groups preview`: "This rule matches 37 of 120 devices in service", then some of them. */
export function renderRulePreview(p: RulePreview): string {
  const head = `This rule matches ${p.matches} of ${plural(p.of, 'device')} in service.\n`;
  if (p.sample.length === 0) return head;
  const more = p.matches > p.sample.length ? `(first ${p.sample.length} by name)\n` : '';
  return `${head}\n${formatTable(['ID', 'NAME'], p.sample.map((d) => [d.id, d.name]))}${more}`;
}

/** `groups show`: the direct members and why each is one (rule, directory or manual). */
function renderMembers(g: Group): string {
  if (!g.members) return '';
  if (g.members.length === 0) return '\nMembers: none\n';
  const more = g.deviceCount > g.members.length ? `\n(first ${g.members.length} of ${g.deviceCount})\n` : '';
  return `\nMembers:\n${formatTable(['ID', 'NAME', 'WHY'], g.members.map((m) => [m.id, m.name, m.why]))}${more}`;
}

/** For commands that change a group: a one-line message, then the group. */
export function groupChanged(message: (g: string, body: Record<string, unknown>) => string) {
  return (g: Group, ctx: RenderContext): string => {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    return `${message(`'${sanitize(g.name)}'`, body)}\n\n${renderGroup(g)}`;
  };
}

/** "2 devices" from a GroupDevicesBody that was sent. */
export function deviceCount(body: Record<string, unknown>): string {
  return Array.isArray(body.devices) ? plural(body.devices.length, 'device') : 'devices';
}

/** "'Carts'" from a GroupChildBody that was sent. */
export function childName(body: Record<string, unknown>): string {
  return typeof body.group === 'string' ? `'${sanitize(body.group)}'` : 'the group';
}

// ---- licenses -------------------------------------------------------------

export function renderAssignments(list: ListAnswer<Assignment>): string {
  if (list.items.length === 0) return empty("licence assignments (assign with 'devlic-admin licenses assign')");
  return formatTable(
    ['ID', 'SUBSCRIPTION', 'GROUP', 'PRODUCT', 'DEVICES', 'ASSIGNED'],
    list.items.map((a) => [a.id, a.subscription.name, a.group.name, a.product, a.devicesReached, formatTime(a.createdAt)]),
    ['left', 'left', 'left', 'left', 'right'],
  );
}

export function renderAssigned(a: Assignment): string {
  return (
    `Assigned subscription '${sanitize(a.subscription.name)}' to group '${sanitize(a.group.name)}' ` +
    `(${sanitize(a.product)}): ${plural(a.devicesReached, 'device')} in the group.\n` +
    `Devices that are online pick up the licence within seconds; others at their next sync.\n`
  );
}

export function renderUnassigned(r: UnassignResult): string {
  return (
    `Unassigned subscription '${sanitize(r.subscription.name)}' from group '${sanitize(r.group.name)}': ` +
    `${plural(r.devicesAffected, 'device')} lost ${r.devicesAffected === 1 ? 'its' : 'their'} licence ` +
    `and switch${r.devicesAffected === 1 ? 'es' : ''} to read-only.\n`
  );
}

export function renderDeleted(kind: string) {
  return (d: Deleted): string => `Deleted ${kind} '${sanitize(d.name)}' (${sanitize(d.id)}).\n`;
}

/** What a guarded change would do, for the confirmation question or the refusal. */
export function renderImpact(i: Impact): string {
  let out = '';
  if (i.devices > 0 || !i.people) {
    const shown = i.sample.slice(0, 10).map((d) => sanitize(d.name)).join(', ');
    const more = i.devices > 10 ? `, and ${i.devices - 10} more` : '';
    out += `This makes ${plural(i.devices, 'device')} read-only: ${shown}${more}.\n`;
  }
  if (i.devicesGainingSeat > 0) out += `${plural(i.devicesGainingSeat, 'other device')} get${i.devicesGainingSeat === 1 ? 's' : ''} a seat.\n`;
  if (i.people) {
    // People (issue 16): their own licence goes; a device licence still covers them where there is one.
    const shown = (i.peopleSample ?? []).slice(0, 10).map(sanitize).join(', ');
    const more = i.people > 10 ? `, and ${i.people - 10} more` : '';
    out += `This takes the user licence from ${plural(i.people, 'person', 'people')}: ${shown}${more}.\n`;
    if (i.peopleGainingSeat) out += `${plural(i.peopleGainingSeat, 'other person', 'other people')} get${i.peopleGainingSeat === 1 ? 's' : ''} one.\n`;
  }
  return out;
}

// ---- enroll tokens --------------------------------------------------------

export function renderEnrollTokens(list: ListAnswer<EnrollToken>, ctx: RenderContext): string {
  if (list.items.length === 0) return empty("enrollment tokens (create one with 'devlic-admin enroll-tokens create')");
  return formatTable(
    ['ID', 'STATUS', 'GROUP', 'USES LEFT', 'EXPIRES', 'CREATED'],
    list.items.map((t) => [
      t.id, t.revokedAt ? `revoked ${formatTime(t.revokedAt).slice(0, 10)} by ${t.revokedBy?.name ?? '-'}` : t.status,
      ref(t.group), t.usesLeft, expiry(t.expiresAt, ctx), formatTime(t.createdAt),
    ]),
    ['left', 'left', 'left', 'right'],
  );
}

export function renderEnrollTokenRevoked(t: EnrollToken): string {
  return `Revoked enrollment token ${sanitize(t.id)}${t.group ? ` (group '${sanitize(t.group.name)}')` : ''}: it enrolls no device from now on; devices it enrolled stay.\n`;
}

function expiry(iso: string, ctx: RenderContext): string {
  const rel = formatRelative(iso, ctx.now);
  return rel.endsWith(' ago') ? `expired ${rel}` : rel;
}

function secretBlock(title: string, token: string | undefined): string {
  if (!token) return `${title}: (the service did not return the token)\n`;
  return `${title} (shown only once; store it safely):\n\n    ${sanitize(token)}\n\n`;
}

export function renderEnrollTokenCreated(t: EnrollToken, ctx: RenderContext): string {
  return (
    secretBlock('Enrollment token', t.token) +
    formatKeyValue([
      ['ID', t.id],
      ['Uses', t.usesLeft],
      ['Expires', `${formatTime(t.expiresAt)} (${formatRelative(t.expiresAt, ctx.now)})`],
      ['Group', t.group ? labelled(t.group) : 'none (add devices to groups later)'],
    ]) +
    `\nOn each device run:\n    devlic-agent enroll --server ${sanitize(ctx.server)} --token ${sanitize(t.token ?? 'TOKEN')}\n`
  );
}

// ---- admins ---------------------------------------------------------------

export function renderAdmins(list: ListAnswer<Admin>): string {
  if (list.items.length === 0) return empty('admins');
  return formatTable(['ID', 'NAME', 'ROLE', 'CREATED', 'REVOKED'], list.items.map((a) => [
    a.id, a.name, a.role, formatTime(a.createdAt), a.revokedAt ? `${formatTime(a.revokedAt)} by ${a.revokedBy?.name ?? '-'}` : '-',
  ]));
}

export function renderAdminRevoked(a: Admin): string {
  return `Revoked the token of admin '${sanitize(a.name)}' (${sanitize(a.id)}, ${a.role}): it is refused from now on.\n`;
}

export function renderAdminCreated(a: Admin): string {
  return (
    secretBlock('Admin token', a.token) +
    formatKeyValue([['ID', a.id], ['Name', a.name], ['Role', a.role]]) +
    `\nUse it with --token or the DEVLIC_ADMIN_TOKEN environment variable.\n`
  );
}

export function renderWhoami(a: Admin): string {
  return formatKeyValue([['ID', a.id], ['Name', a.name], ['Role', a.role], ['Created', formatTime(a.createdAt)]]);
}

// ---- audit ----------------------------------------------------------------

/** Audit details as "key=value" pairs; nested values as compact JSON. */
export function formatDetails(details: Record<string, unknown> | null | undefined): string {
  if (!details) return '-';
  const parts = Object.entries(details).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(' ') : '-';
}

/** Replaces the ids a details text mentions with their names. */
function withNames(text: string, names: Record<string, string> | undefined): string {
  if (!names) return text;
  return text.replace(/\b(dev|grp|sub|adm|enr|asg)_[A-Za-z0-9]+\b/g, (id) => (names[id] !== undefined ? `'${names[id]}'` : id));
}

export function renderAudit(list: ListAnswer<AuditEvent>): string {
  if (list.items.length === 0) return empty('audit events');
  return formatTable(
    ['ID', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAILS'],
    list.items.map((e) => [
      e.id, formatTime(e.at), e.actor?.name ?? '-', e.action, e.targetName ?? e.target,
      truncate(withNames(formatDetails(e.details), e.names), 80),
    ]),
    ['right'],
  );
}
