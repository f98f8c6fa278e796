// Audit log: who changed what and when, newest first, 100 at a time ("Show
// older" pages back with `before`, so it works with a long history). Filters
// by who, what, target and time run on the server and live in the URL. Each
// event reads as names, not ids: the service sends the names of the ids an
// event mentions, and a change shows as "seats: 20 → 25".
import { get, enc } from './api.js';
import { h, fill, table, row, date, num, plural, href, zoneName } from './dom.js';

const PAGE = 100;
export const ACTIONS = {
  'license.assign': 'Assigned licences',
  'license.unassign': 'Unassigned licences',
  'group.create': 'Created group',
  'group.rename': 'Renamed group',
  'group.delete': 'Deleted group',
  'group.add-devices': 'Added devices to group',
  'group.remove-devices': 'Removed devices from group',
  'group.nest': 'Nested group',
  'group.set-rule': 'Set group rule',
  'group.clear-rule': 'Removed group rule (members kept, by hand)',
  'group.unnest': 'Un-nested group',
  'license.assign-users': 'Assigned licences to a user group',
  'license.unassign-users': 'Unassigned licences from a user group',
  'user-group.create': 'Created user group',
  'user-group.add-users': 'Added people to user group',
  'user-group.remove-users': 'Removed people from user group',
  'user-group.rename': 'Renamed user group',
  'user-group.delete': 'Deleted user group',
  'sign-in-domain.add': 'Added sign-in domain alias',
  'sign-in-domain.remove': 'Removed sign-in domain alias',
  'subscription.create': 'Added subscription',
  'subscription.update': 'Changed subscription',
  'subscription.term-ended': 'Subscription term ended',
  'device.enroll': 'Device enrolled',
  'device.enroll-duplicate': 'Device enrolled (possible duplicate)',
  'device.reenroll': 'Device enrolled again',
  'device.merge': 'Merged devices',
  'device.tag': 'Tagged device',
  'device.untag': 'Untagged device',
  'device.disable': 'Disabled device',
  'device.enable': 'Enabled device',
  'device.retire': 'Retired device',
  'device.restore': 'Restored device',
  'device.delete': 'Deleted device',
  'device.retire-stale': 'Retired devices not seen for long',
  'enroll-token.create': 'Created enrollment token',
  'enroll-token.revoke': 'Revoked enrollment token',
  'admin.create': 'Created admin token',
  'admin.revoke': 'Revoked admin token',
  'directory.add': 'Added directory',
  'directory.update': 'Changed directory settings',
  'directory.remove': 'Removed directory',
  'directory.sync': 'Synced directory groups',
  'directory.sync-failed': 'Directory sync failed (nothing changed)',
};
const AREAS = [
  ['license.', 'Licences'], ['subscription.', 'Subscriptions'], ['group.', 'Groups'], ['user-group.', 'User groups'], ['sign-in-domain.', 'Sign-in domains'], ['device.', 'Devices'],
  ['directory.', 'Directories'], ['enroll-token.', 'Enrollment tokens'], ['admin.', 'Admin tokens'],
];
const COLS = ['When', 'Who', 'What', 'Target', 'Details'];
const ID = /^(dev|grp|sub|adm|enr|asg|ugr|dir)_[A-Za-z0-9]+$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
// Keys whose value is an internal id nobody needs to read.
const HIDDEN_KEYS = new Set(['assignment']);

/** "termEnd" -> "term end". */
const words = (k) => k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

/** Renders one value of an event: ids as the names (and links) admins know, dates with their zone, yes/no. */
function valueView(v, e, subs) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, 'none');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return num(v);
  if (Array.isArray(v)) return v.length ? v.map((x, i) => [i ? ', ' : '', valueView(x, e, subs)]) : h('span', { class: 'muted' }, 'none');
  if (typeof v === 'object') return Object.entries(v).map(([k, x], i) => [i ? '; ' : '', `${words(k)}: `, valueView(x, e, subs)]);
  const s = String(v);
  if (ID.test(s)) {
    const name = e.names?.[s];
    const link = s.startsWith('grp_') ? `#/groups/${enc(s)}` : s.startsWith('ugr_') ? `#/user-groups/${enc(s)}` : s.startsWith('dev_') ? `#/devices/${enc(s)}`
      : s.startsWith('sub_') && subs.get(s) ? `#/licences/${enc(subs.get(s))}/${enc(s)}` : null;
    return link && name !== undefined ? h('a', { href: link, title: s }, name) : h('span', { title: s }, name ?? h('code', {}, s));
  }
  if (ISO.test(s) && !Number.isNaN(Date.parse(s))) return date(s, true);
  return s;
}

/** Details as a list; a before/after pair as "field: old → new", only for what changed. */
export function detailsView(e, subs = new Map()) {
  const d = e.details ?? {};
  const items = [];
  if (d.before && d.after && typeof d.before === 'object' && typeof d.after === 'object') {
    for (const k of new Set([...Object.keys(d.before), ...Object.keys(d.after)])) {
      if (JSON.stringify(d.before[k]) === JSON.stringify(d.after[k])) continue;
      items.push(h('li', { class: 'change' }, h('span', { class: 'muted' }, `${words(k)}: `),
        h('span', { class: 'before' }, valueView(d.before[k], e, subs)), ' → ', h('span', { class: 'after' }, valueView(d.after[k], e, subs))));
    }
  }
  for (const [k, v] of Object.entries(d)) {
    if (k === 'before' || k === 'after' || HIDDEN_KEYS.has(k) || v === null || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (k === 'impact' && v && typeof v === 'object') {
      // What the admin confirmed (the service's count when they went ahead).
      items.push(h('li', { class: 'impact' }, `${plural(v.devices ?? 0, 'device', 'devices')} went read-only`,
        v.devicesGainingSeat ? `, ${plural(v.devicesGainingSeat, 'device', 'devices')} got a seat` : '',
        v.people ? `, ${plural(v.people, 'person', 'people')} lost their user licence` : '', ' (confirmed)'));
      continue;
    }
    items.push(h('li', {}, h('span', { class: 'muted' }, `${words(k)}: `), valueView(v, e, subs)));
  }
  return items.length ? h('ul', { class: 'plain details' }, items) : h('span', { class: 'muted' }, '—');
}

function targetView(e, subs) {
  if (ID.test(e.target)) return valueView(e.target, { ...e, names: { ...e.names, ...(e.targetName ? { [e.target]: e.targetName } : {}) } }, subs);
  return e.targetName ?? e.target;
}

/** <input type=datetime-local> value (local time) <-> ISO instant. */
const toIso = (local) => (local ? new Date(local).toISOString() : '');
function toLocal(iso) {
  if (!iso || Number.isNaN(Date.parse(iso))) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A name typed in the Target box becomes the id the API filters on. */
async function resolveTarget(text, admins) {
  const t = text.trim();
  if (!t || ID.test(t)) return t;
  const [groups, subs, devices] = await Promise.all([get('/groups', { q: t }), get('/subscriptions'), get('/devices', { q: t, limit: 20 })]);
  const found = [
    ...groups.items.filter((g) => g.name === t), ...subs.items.filter((s) => s.name === t),
    ...devices.items.filter((d) => d.name === t), ...admins.filter((a) => a.name === t),
  ];
  if (found.length === 1) return found[0].id;
  throw new Error(found.length ? `${num(found.length)} things are called “${t}”: enter the id instead (it is on its page).`
    : `No group, subscription, device or admin is called “${t}”. Enter a name or an id.`);
}

export async function render(el, _parts, query, _ctx) {
  const filter = {
    actor: query.actor ?? '', action: query.action ?? '', target: query.target ?? '',
    since: query.since && !Number.isNaN(Date.parse(query.since)) ? query.since : '', until: query.until && !Number.isNaN(Date.parse(query.until)) ? query.until : '',
  };
  const [first, subsList, adminsList] = await Promise.all([
    get('/audit', { limit: PAGE, ...filter }), get('/subscriptions'), get('/admins'),
  ]);
  const subs = new Map(subsList.items.map((s) => [s.id, s.product]));
  const admins = adminsList.items;
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;

  // The filter form.
  const actor = h('select', { id: 'audit-actor' },
    h('option', { value: '' }, 'Anyone'),
    admins.map((a) => h('option', { value: a.id, selected: filter.actor === a.id }, `${a.name} (${a.role}${a.revokedAt ? ', revoked' : ''})`)),
    h('option', { value: 'enrollment token', selected: filter.actor === 'enrollment token' }, 'An enrollment token (device enrolled)'),
    h('option', { value: 'system', selected: filter.actor === 'system' }, 'devlic-server (automatic)'));
  const action = h('select', { id: 'audit-action' }, h('option', { value: '' }, 'Anything'),
    AREAS.map(([prefix, label]) => h('optgroup', { label },
      h('option', { value: prefix, selected: filter.action === prefix }, `${label}: everything`),
      Object.entries(ACTIONS).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => h('option', { value: k, selected: filter.action === k }, v)))));
  const targetText = filter.target ? (first.items.find((e) => e.target === filter.target)?.targetName ?? filter.target) : '';
  const target = h('input', { id: 'audit-target', type: 'text', value: targetText, autocomplete: 'off', placeholder: 'Name or id', 'aria-describedby': 'audit-target-help' });
  const since = h('input', { id: 'audit-since', type: 'datetime-local', value: toLocal(filter.since) });
  const until = h('input', { id: 'audit-until', type: 'datetime-local', value: toLocal(filter.until) });
  const formErr = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'inline-form filters-form', 'aria-labelledby': 'h-audit-filter' },
    h('h2', { id: 'h-audit-filter' }, 'Filter'),
    h('div', { class: 'filter-grid' },
      h('div', { class: 'field' }, h('label', { for: 'audit-actor' }, 'Who'), actor),
      h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'What'), action),
      h('div', { class: 'field' }, h('label', { for: 'audit-target' }, 'Target'), target,
        h('p', { class: 'help', id: 'audit-target-help' }, 'A group, subscription, device or admin.')),
      h('div', { class: 'field' }, h('label', { for: 'audit-since' }, `From (${tz})`), since),
      h('div', { class: 'field' }, h('label', { for: 'audit-until' }, `Until (${tz})`), until)),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filter'),
      h('button', { type: 'button', id: 'audit-clear', onclick: () => { location.hash = '#/audit'; } }, 'Clear filter')),
    formErr);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formErr.textContent = '';
    let targetId;
    try { targetId = await resolveTarget(target.value, admins); } catch (e2) { formErr.textContent = e2.message; target.focus(); return; }
    if (since.value && until.value && toIso(since.value) >= toIso(until.value)) { formErr.textContent = '“Until” must be after “From”.'; until.focus(); return; }
    // A new hash re-renders the page with the filter (and makes it a link that can be shared or reloaded).
    location.hash = href('/audit', { actor: actor.value, action: action.value, target: targetId, since: toIso(since.value), until: toIso(until.value) });
  });

  const { wrap, body } = table('Audit log', COLS, [], { class: 'data', id: 'audit-table' });
  const more = h('button', { type: 'button', id: 'audit-more' }, 'Show older');
  const status = h('p', { class: 'summary', 'aria-live': 'polite', id: 'audit-status' });
  const filtered = Object.values(filter).some(Boolean);
  let shown = 0;
  let oldest = null;

  const add = (page) => {
    body.append(...page.items.map((e) => row(COLS, [
      date(e.at, true), e.actor.name, h('span', { title: e.action }, ACTIONS[e.action] ?? e.action), targetView(e, subs), detailsView(e, subs),
    ], { 'data-action': e.action })));
    shown += page.items.length;
    oldest = page.items.at(-1)?.id ?? oldest;
    status.textContent = page.total === 0 ? (filtered ? 'No events match this filter.' : 'No events yet.')
      : `Showing the latest ${num(shown)} of ${num(page.total)} ${filtered ? 'matching ' : ''}events.`;
    more.hidden = shown >= page.total || page.items.length < PAGE;
  };
  more.addEventListener('click', async () => {
    const firstNew = body.children.length;
    add(await get('/audit', { limit: PAGE, before: oldest, ...filter }));
    // Keyboard users continue at the first row that arrived.
    body.children[firstNew]?.querySelector('th')?.setAttribute('tabindex', '-1');
    body.children[firstNew]?.querySelector('th')?.focus();
  });
  add(first);
  fill(el, h('h1', { tabindex: '-1' }, 'Audit log'),
    h('p', { class: 'lead' }, `Every change, with who made it and when. Changes are written in the same transaction as the change itself. Times are in ${tz} (${zoneName()}).`),
    form, status, wrap, more);
  return {};
}
