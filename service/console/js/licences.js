// Licences: the Microsoft 365 admin centre's Billing > Licenses flow.
// Products with seats total / assigned / available -> a product's
// subscriptions -> a subscription's groups, with "Assign licences" (group
// search as you type) and, in each group's "…" menu, "Unassign licences"
// behind a confirmation that says how many devices go read-only.
import { get, post, enc, ApiError } from './api.js';
import { h, fill, rebuild, table, row, num, plural, date, crumbs, writeButton, guardWrite, liveRefresher } from './dom.js';
import { openDialog, confirmDialog, errorArea } from './dialog.js';
import { combobox, menuButton } from './widgets.js';

export async function render(el, parts, _query, ctx) {
  if (parts.length === 0) return renderProducts(el);
  if (parts.length === 1) return renderProduct(el, parts[0]);
  return renderSubscription(el, parts[0], parts[1], ctx);
}

async function renderProducts(el) {
  const [products, subs] = await Promise.all([get('/products'), get('/subscriptions')]);
  const cols = ['Product', 'Seats total', 'Assigned', 'Available', 'Subscriptions'];
  const section = h('div');
  const draw = (products, subs) => rebuild(section, table('Products and their seats', cols, products.items.map((p) => row(cols, [
    h('a', { href: `#/licences/${enc(p.sku)}`, id: `product-${p.sku}` }, p.name),
    num(p.seatsTotal), num(p.seatsAssigned),
    h('span', { class: p.seatsAvailable === 0 && p.seatsTotal > 0 ? 'warn-text' : '' }, num(p.seatsAvailable)),
    num(subs.items.filter((s) => s.product === p.sku).length),
  ])), { class: 'data' }).wrap);
  draw(products, subs);
  fill(el, h('h1', { tabindex: '-1' }, 'Licences'),
    h('p', { class: 'lead' }, 'Device licences by product. Choose a product to see its subscriptions and the groups of devices they are assigned to.'),
    section);
  return liveRefresher(async () => draw(...await Promise.all([get('/products'), get('/subscriptions')])), seatsMayMove);
}

async function renderProduct(el, sku) {
  const [products, subs] = await Promise.all([get('/products'), get('/subscriptions')]);
  const p = products.items.find((x) => x.sku === sku);
  if (!p) throw new Error(`There is no product '${sku}'.`);
  const mine = subs.items.filter((s) => s.product === sku);
  const cols = ['Subscription', 'Status', 'Seats', 'In use', 'Devices without a seat', 'Term ends', 'Assigned to'];
  fill(el,
    crumbs(['Licences', '#/licences'], [p.name]),
    h('h1', { tabindex: '-1' }, p.name),
    h('p', { class: 'summary' }, seatSummary(p.seatsTotal, p.seatsAssigned, p.seatsAvailable)),
    h('h2', {}, 'Subscriptions'),
    mine.length
      ? table(`Subscriptions of ${p.name}`, cols, mine.map((s) => row(cols, [
        h('a', { href: `#/licences/${enc(sku)}/${enc(s.id)}` }, s.name),
        h('span', { class: `badge status-${s.status}` }, s.status),
        num(s.seats), num(s.seatsUsed),
        s.seatsExhausted ? h('span', { class: 'warn-text' }, num(s.seatsExhausted)) : '0',
        date(s.termEnd), s.groups.length ? s.groups.map((g) => g.name).join(', ') : h('span', { class: 'muted' }, 'no group'),
      ])), { class: 'data' }).wrap
      : h('p', {}, 'No subscriptions for this product yet. Add one with ', h('code', {}, `devlic-admin subscriptions add --product ${sku} --seats N`), '.'));
  return {};
}

function seatSummary(total, used, available) {
  return [h('strong', {}, num(total)), ' seats: ', h('strong', {}, num(used)), ' assigned, ', h('strong', {}, num(available)), ' available.'];
}

async function loadSubscription(subId) {
  const [sub, licences] = await Promise.all([get(`/subscriptions/${enc(subId)}`), get('/licenses')]);
  return { sub, assignments: licences.items.filter((a) => a.subscription.id === sub.id) };
}

async function renderSubscription(el, sku, subId, ctx) {
  let { sub, assignments } = await loadSubscription(subId);
  const summary = h('div', { class: 'summary' });
  const groupsSection = h('div');
  const cols = ['Group', 'Devices reached', 'Assigned on', 'Actions'];

  const draw = () => {
    rebuild(summary,
      h('p', {}, h('span', { class: `badge status-${sub.status}` }, sub.status), ' ', sub.productName,
        sub.termEnd ? [' · term ends ', date(sub.termEnd)] : null),
      h('p', {}, seatSummary(sub.seats, sub.seatsUsed, Math.max(0, sub.seats - sub.seatsUsed))),
      sub.seatsExhausted ? h('p', { class: 'warn-text' }, `${plural(sub.seatsExhausted, 'device is', 'devices are')} in an assigned group but got no seat (SEATS_EXHAUSTED). Add seats or remove devices.`) : null);
    rebuild(groupsSection, assignments.length
      ? table(`Groups assigned ${sub.name}`, cols, assignments.map((a) => row(cols, [
        h('a', { href: `#/groups/${enc(a.group.id)}` }, a.group.name),
        num(a.devicesReached), date(a.createdAt, true),
        menuButton(`More actions for ${a.group.name}`, [{ label: 'Unassign licences', run: () => unassignFlow(a) }], (b) => guardWrite(ctx, b)),
      ], { 'data-group': a.group.name })), { class: 'data' }).wrap
      : h('p', { class: 'muted' }, 'This subscription is not assigned to any group yet.'));
  };
  const reload = async () => { ({ sub, assignments } = await loadSubscription(subId)); draw(); };

  async function unassignFlow(a) {
    const n = a.devicesReached;
    const ok = await confirmDialog({
      title: 'Unassign licences?',
      body: [
        h('p', {}, 'Unassign ', h('strong', {}, sub.name), ' from the group ', h('strong', {}, a.group.name), '?'),
        h('p', { class: 'count' }, n === 0 ? 'No devices are in this group now, so no device goes read-only.'
          : `${plural(n, 'device', 'devices')} in this group (and the groups nested in it) will go read-only.`),
        h('p', {}, 'People can still open and print their documents there, but not edit or save them. Nothing is deleted; assign licences again to undo.'),
      ],
      confirmLabel: 'Unassign',
    });
    if (!ok) return;
    try {
      const r = await post('/licenses/unassign', { subscription: sub.id, group: a.group.id });
      ctx.announce(`Unassigned ${sub.name} from ${a.group.name}. ${plural(r.devicesAffected, 'device', 'devices')} lost the licence.`);
      await reload();
      document.getElementById('assign-button')?.focus();
    } catch (e) {
      openDialog({ title: "Couldn't unassign licences", body: [h('p', { class: 'error' }, e.message)], actions: (close) => [h('button', { type: 'button', onclick: close }, 'Close')] });
    }
  }

  fill(el,
    crumbs(['Licences', '#/licences'], [sub.productName, `#/licences/${enc(sku)}`], [sub.name]),
    h('h1', { tabindex: '-1' }, sub.name), summary,
    h('div', { class: 'toolbar' }, writeButton(ctx, 'Assign licences', () => assignFlow(ctx, sub, reload), { class: 'primary', id: 'assign-button' })),
    h('h2', {}, 'Groups'), groupsSection);
  draw();
  return liveRefresher(reload, seatsMayMove);
}

/** The "Assign licences" dialog: search a group as you type, pick it, Assign; the result, then Close. */
function assignFlow(ctx, sub, reload) {
  let picked = null;
  const err = errorArea();
  const assignBtn = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => submit() }, 'Assign');
  const cb = combobox({
    label: 'Search for a group', placeholder: 'Type a group name', noun: 'groups',
    search: async (q) => (await get('/groups', { q })).items.slice(0, 20).map((g) => ({
      id: g.id, label: g.name, warn: !!g.subscription,
      detail: g.subscription ? `already has ${g.subscription.name}` : `${plural(g.deviceCount, 'device', 'devices')}`,
    })),
    onPick: (item) => { picked = item; assignBtn.disabled = !item; err.textContent = ''; },
  });
  const dlg = openDialog({
    title: 'Assign licences',
    body: [h('p', {}, 'Assign ', h('strong', {}, sub.name), ' to a group of devices. Every device in the group, and in the groups nested in it, gets a licence. A group can have one subscription.'), cb.el, err],
    actions: (close) => [assignBtn, h('button', { type: 'button', onclick: close }, 'Cancel')],
    initialFocus: () => cb.input,
    onClose: () => { reload().catch(() => {}); },
  });
  async function submit() {
    if (!picked) return;
    assignBtn.disabled = true;
    try {
      // The group goes by the name the admin picked (names are unique), so a refusal names it as they know it.
      const a = await post('/licenses/assign', { subscription: sub.id, group: picked.label });
      let closeBtn;
      dlg.replace([
        h('p', { class: 'success', role: 'status' }, 'Licences assigned. ', h('strong', {}, a.group.name), ' now has ', h('strong', {}, a.subscription.name), '.'),
        h('p', {}, `${plural(a.devicesReached, 'device', 'devices')} reached. Devices that are online pick up their licence within seconds; the others when they next connect. Watch it happen in Devices.`),
      ], (close) => [closeBtn = h('button', { type: 'button', class: 'primary', onclick: close }, 'Close')]);
      closeBtn.focus();
      ctx.announce(`Assigned ${a.subscription.name} to ${a.group.name}.`);
    } catch (e) {
      // The service's own words, e.g. the 409 "group already has subscription …".
      err.textContent = e instanceof ApiError ? e.message : String(e);
      assignBtn.disabled = false;
      cb.input.focus();
    }
  }
}

/** Seat counts move only when entitlements change, not on every report. */
const seatsMayMove = (ev) => ev.all || ev.changed.length > 0;
