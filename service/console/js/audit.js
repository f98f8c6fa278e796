// Audit log: who changed what and when, newest first, 100 at a time
// ("Show older" pages back with `before`, so it works with a long history).
import { get, enc } from './api.js';
import { h, fill, table, row, date, num } from './dom.js';

const PAGE = 100;
const ACTIONS = {
  'license.assign': 'Assigned licences',
  'license.unassign': 'Unassigned licences',
  'group.create': 'Created group',
  'group.add-devices': 'Added devices to group',
  'group.remove-devices': 'Removed devices from group',
  'group.nest': 'Nested group',
  'group.unnest': 'Un-nested group',
  'subscription.create': 'Added subscription',
  'subscription.update': 'Changed subscription',
  'subscription.term-ended': 'Subscription term ended',
  'device.enroll': 'Device enrolled',
  'device.reenroll': 'Device enrolled again',
  'device.disable': 'Disabled device',
  'device.enable': 'Enabled device',
  'enroll-token.create': 'Created enrollment token',
  'admin.create': 'Created admin token',
};
const COLS = ['When', 'Who', 'What', 'Target', 'Details'];

/** Ids in the log become the names admins know (and links), where the console knows them. */
function namer(groups, subs) {
  const names = new Map([
    ...groups.map((g) => [g.id, { name: g.name, href: `#/groups/${enc(g.id)}` }]),
    ...subs.map((s) => [s.id, { name: s.name, href: `#/licences/${enc(s.product)}/${enc(s.id)}` }]),
  ]);
  const one = (v) => {
    if (typeof v !== 'string') return JSON.stringify(v);
    const n = names.get(v);
    if (n) return h('a', { href: n.href, title: v }, n.name);
    if (/^dev_[A-Za-z0-9]+$/.test(v)) return h('a', { href: `#/devices/${enc(v)}` }, h('code', {}, v));
    return v;
  };
  return (v) => (Array.isArray(v) ? (v.length ? v.map((x, i) => [i ? ', ' : '', one(x)]) : h('span', { class: 'muted' }, 'none')) : one(v));
}

function details(d, name) {
  const entries = Object.entries(d ?? {}).filter(([, v]) => v !== null);
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'plain details' }, entries.map(([k, v]) => h('li', {}, h('span', { class: 'muted' }, `${k}: `), name(v))));
}

export async function render(el, _parts, _query, _ctx) {
  const [first, groups, subs] = await Promise.all([get('/audit', { limit: PAGE }), get('/groups'), get('/subscriptions')]);
  const name = namer(groups.items, subs.items);
  const { wrap, body } = table('Audit log', COLS, [], { class: 'data' });
  const more = h('button', { type: 'button', id: 'audit-more' }, 'Show older');
  const status = h('p', { class: 'summary', 'aria-live': 'polite' });
  let shown = 0;
  let oldest = null;

  const add = (page) => {
    body.append(...page.items.map((e) => row(COLS, [
      date(e.at, true), e.actor.name, h('span', { title: e.action }, ACTIONS[e.action] ?? e.action), name(e.target), details(e.details, name),
    ])));
    shown += page.items.length;
    oldest = page.items.at(-1)?.id ?? oldest;
    status.textContent = `Showing the latest ${num(shown)} of ${num(page.total)} events.`;
    more.hidden = shown >= page.total || page.items.length < PAGE;
  };
  more.addEventListener('click', async () => {
    const firstNew = body.children.length;
    add(await get('/audit', { limit: PAGE, before: oldest }));
    // Keyboard users continue at the first row that arrived.
    body.children[firstNew]?.querySelector('th')?.setAttribute('tabindex', '-1');
    body.children[firstNew]?.querySelector('th')?.focus();
  });
  add(first);
  fill(el, h('h1', { tabindex: '-1' }, 'Audit log'),
    h('p', { class: 'lead' }, 'Every change, with who made it and when. Changes are written in the same transaction as the change itself.'),
    status, wrap, more);
  return {};
}
