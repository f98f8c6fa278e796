// Licences: the Microsoft 365 admin centre's Billing > Licenses flow.
// Products with seats total / assigned / available -> a product's
// subscriptions -> a subscription's groups, with "Assign licences" (group
// search as you type) and, in each group's "…" menu, "Unassign licences".
// A global-admin also adds a subscription, changes its seats, name, term end
// and status here. Whatever would make devices read-only (unassign, fewer
// seats than in use, suspend, a term end in the past) goes through guard.js:
// the service's own count of the impact, confirmed before it is sent.
// A user product's seats count people and its subscriptions go to user groups
// (issue 16): those parts come from user-licences.js.
import { get, post, patch, enc, ApiError } from './api.js';
import { h, fill, rebuild, table, row, num, plural, date, crumbs, writeButton, forWriters, liveRefresher, href } from './dom.js';
import { openDialog, errorArea, formDialog, renameDialog } from './dialog.js';
import { combobox, menuButton } from './widgets.js';
import { guarded } from './guard.js';
import { assignToUserGroupFlow, isUserProduct, peopleSeatSummary, peopleWithoutSeat, userAssignmentsOf, userGroupsTable } from './user-licences.js';

export async function render(el, parts, _query, ctx) {
  if (parts.length === 0) return renderProducts(el, ctx);
  if (parts.length === 1) return renderProduct(el, parts[0], ctx);
  return renderSubscription(el, parts[0], parts[1], ctx);
}

async function renderProducts(el, ctx) {
  const [products, subs] = await Promise.all([get('/products'), get('/subscriptions')]);
  const cols = ['Product', 'Seats for', 'Seats total', 'Assigned', 'Available', 'Subscriptions'];
  const section = h('div');
  const draw = (products, subs) => rebuild(section, table('Products and their seats', cols, products.items.map((p) => row(cols, [
    h('a', { href: `#/licences/${enc(p.sku)}`, id: `product-${p.sku}` }, p.name),
    isUserProduct(p) ? 'people' : 'devices', num(p.seatsTotal), num(p.seatsAssigned),
    h('span', { class: p.seatsAvailable === 0 && p.seatsTotal > 0 ? 'warn-text' : '' }, num(p.seatsAvailable)),
    num(subs.items.filter((s) => s.product === p.sku).length),
  ])), { class: 'data' }).wrap);
  draw(products, subs);
  fill(el, h('h1', { tabindex: '-1' }, 'Licences'),
    h('p', { class: 'lead' }, 'Licences by product. A device product licenses groups of devices; a user product licenses the people of user groups, on any device, and its seats count people. Choose a product to see its subscriptions and the groups they are assigned to.'),
    forWriters(ctx, () => h('div', { class: 'toolbar' }, writeButton(ctx, 'Add a subscription', () => addSubscriptionFlow(ctx, products.items), { class: 'primary', id: 'add-subscription' }))),
    section);
  // A `users` event (people's licences moved) can change a user product's seats as a device event does a device product's.
  return liveRefresher(async () => draw(...await Promise.all([get('/products'), get('/subscriptions')])), seatsMayMove, 300, () => true);
}

async function renderProduct(el, sku, ctx) {
  const [products, subs] = await Promise.all([get('/products'), get('/subscriptions')]);
  const p = products.items.find((x) => x.sku === sku);
  if (!p) throw new Error(`There is no product '${sku}'.`);
  const people = isUserProduct(p);
  const cols = ['Subscription', 'Status', 'Seats', 'In use', people ? 'People without a seat' : 'Devices without a seat', 'Term ends', 'Assigned to'];
  const summary = h('p', { class: 'summary', id: 'product-summary' });
  const list = h('div');
  /** The seat summary and the subscriptions table, from a fresh read of both lists. */
  const draw = async (prod, all) => {
    // A user product's subscriptions go to user groups (GET /user-licenses); `s.groups` lists device groups only.
    const userGroupsOf = people ? await userGroupNames() : null;
    const mine = all.items.filter((s) => s.product === sku);
    rebuild(summary, people ? peopleSeatSummary(prod.seatsTotal, prod.seatsAssigned) : seatSummary(prod.seatsTotal, prod.seatsAssigned, prod.seatsAvailable));
    rebuild(list, mine.length
      ? table(`Subscriptions of ${p.name}`, cols, mine.map((s) => row(cols, [
        h('a', { href: `#/licences/${enc(sku)}/${enc(s.id)}` }, s.name),
        h('span', { class: `badge status-${s.status}` }, s.status),
        num(s.seats), num(s.seatsUsed),
        s.seatsExhausted ? (people ? h('span', { class: 'warn-text' }, `${num(s.seatsExhausted)} without a seat`)
          : h('a', { class: 'warn-text', href: noSeatLink(s) }, `${num(s.seatsExhausted)} without a seat`)) : '0',
        date(s.termEnd), people ? (userGroupsOf.get(s.id)?.join(', ') || h('span', { class: 'muted' }, 'no user group'))
          : s.groups.length ? s.groups.map((g) => g.name).join(', ') : h('span', { class: 'muted' }, 'no group'),
      ], { 'data-subscription': s.name })), { class: 'data' }).wrap
      : h('p', {}, 'No subscriptions for this product yet.', ctx.canWrite ? ' Add one with “Add a subscription”.' : ''));
  };
  await draw(p, subs);
  fill(el,
    crumbs(['Licences', '#/licences'], [p.name]),
    h('h1', { tabindex: '-1' }, p.name),
    summary,
    forWriters(ctx, () => h('div', { class: 'toolbar' }, writeButton(ctx, 'Add a subscription', () => addSubscriptionFlow(ctx, products.items, sku), { class: 'primary', id: 'add-subscription' }))),
    h('h2', {}, 'Subscriptions'),
    list);
  // Seats in use move with devices' answers for a device product and with people's licences for a user product
  // (the live event of each kind); both lists are small reads.
  const reload = async () => {
    const [prods, all] = await Promise.all([get('/products'), get('/subscriptions')]);
    const now = prods.items.find((x) => x.sku === sku);
    if (now) await draw(now, all);
  };
  return liveRefresher(reload, people ? () => false : seatsMayMove, 300, () => people);
}

/** Subscription id -> the names of the user groups it is assigned to. */
async function userGroupNames() {
  const m = new Map();
  for (const a of (await get('/user-licenses')).items) m.set(a.subscription.id, [...(m.get(a.subscription.id) ?? []), a.userGroup.name]);
  return m;
}

function seatSummary(total, used, available) {
  return [h('strong', {}, num(total)), ' seats: ', h('strong', {}, num(used)), ' assigned, ', h('strong', {}, num(available)), ' available.'];
}

async function loadSubscription(subId, people) {
  if (people) {
    const [sub, assignments] = await Promise.all([get(`/subscriptions/${enc(subId)}`), userAssignmentsOf(subId)]);
    return { sub, assignments };
  }
  const [sub, licences] = await Promise.all([get(`/subscriptions/${enc(subId)}`), get('/licenses')]);
  return { sub, assignments: licences.items.filter((a) => a.subscription.id === sub.id) };
}

async function renderSubscription(el, sku, subId, ctx) {
  const people = isUserProduct((await get('/products')).items.find((p) => p.sku === sku));
  let { sub, assignments } = await loadSubscription(subId, people);
  const summary = h('div', { class: 'summary' });
  const groupsSection = h('div');
  const cols = ['Group', 'Devices reached', 'Assigned on', ...(ctx.canWrite ? ['Actions'] : [])];

  const draw = () => {
    rebuild(summary,
      h('p', {}, h('span', { class: `badge status-${sub.status}` }, sub.status), ' ', sub.productName,
        sub.termEnd ? [' · term ends ', date(sub.termEnd)] : null),
      h('p', { id: 'subscription-seats' }, people ? peopleSeatSummary(sub.seats, sub.seatsUsed) : seatSummary(sub.seats, sub.seatsUsed, Math.max(0, sub.seats - sub.seatsUsed))),
      people ? peopleWithoutSeat(sub, ctx, () => seatsFlow(sub.seats + sub.seatsExhausted)) : sub.seatsExhausted ? h('div', { class: 'warning' },
        h('p', { class: 'warn-text' }, `${plural(sub.seatsExhausted, 'device is', 'devices are')} in an assigned group but got no seat (SEATS_EXHAUSTED).`),
        h('p', {}, h('a', { href: noSeatLink(sub), id: 'no-seat-link' }, `Show the ${plural(sub.seatsExhausted, 'device', 'devices')} without a seat`),
          ctx.canWrite ? [' ', h('button', { type: 'button', class: 'small', id: 'add-seats-warning', onclick: () => seatsFlow(sub.seats + sub.seatsExhausted) }, 'Add seats')]
            : ' · a global-admin can add seats.')) : null);
    rebuild(groupsSection, people ? userGroupsTable(ctx, sub, assignments, reload) : assignments.length
      ? table(`Groups assigned ${sub.name}`, cols, assignments.map((a) => row(cols, [
        h('a', { href: `#/groups/${enc(a.group.id)}` }, a.group.name),
        num(a.devicesReached), date(a.createdAt, true),
        ...(ctx.canWrite ? [menuButton(`More actions for ${a.group.name}`, [{ label: 'Unassign licences', run: () => unassignFlow(a) }])] : []),
      ], { 'data-group': a.group.name })), { class: 'data' }).wrap
      : h('p', { class: 'muted' }, 'This subscription is not assigned to any group yet.'));
  };
  const reload = async () => { ({ sub, assignments } = await loadSubscription(subId, people)); drawAll(); };

  async function unassignFlow(a) {
    let r;
    try {
      r = await guarded({
        title: 'Unassign licences?', confirmLabel: 'Unassign',
        intro: [h('p', {}, 'Unassign ', h('strong', {}, sub.name), ' from the group ', h('strong', {}, a.group.name), ' (and the groups nested in it)?'),
          h('p', {}, 'Nothing is deleted; assign licences again to undo.')],
        send: (confirm) => post('/licenses/unassign', { subscription: sub.id, group: a.group.id, ...(confirm ? { confirm } : {}) }),
      });
    } catch (e) {
      showError("Couldn't unassign licences", e);
      return;
    }
    if (!r) return;
    ctx.announce(`Unassigned ${sub.name} from ${a.group.name}. ${plural(r.devicesAffected, 'device', 'devices')} lost the licence.`);
    await reload();
    document.getElementById('assign-button')?.focus();
  }

  /** PATCHes the subscription through the guard (title and intro say what is about to happen); false when cancelled. */
  async function change(body, title, intro, confirmLabel) {
    const r = await guarded({ title, intro, confirmLabel, send: (confirm) => patch(`/subscriptions/${enc(sub.id)}`, { ...body, ...(confirm ? { confirm } : {}) }) });
    if (!r) return false;
    await reload();
    return true;
  }

  function seatsFlow(suggested = sub.seats) {
    const input = h('input', { id: 'seats-input', type: 'number', min: '0', max: '10000000', inputmode: 'numeric', value: String(suggested), required: true });
    formDialog({
      title: `Seats of ${sub.name}`, submitLabel: 'Save seats',
      intro: h('p', {}, `${plural(sub.seats, 'seat', 'seats')} now, ${num(sub.seatsUsed)} in use`,
        sub.seatsExhausted ? `; ${people ? plural(sub.seatsExhausted, 'person waits', 'people wait') : plural(sub.seatsExhausted, 'device waits', 'devices wait')} for a seat` : '', '.'),
      fields: [h('label', { for: 'seats-input' }, 'Seats'), input],
      submit: async () => {
        const n = Number(input.value);
        if (input.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 10_000_000) throw new Error('Seats: a whole number from 0 to 10,000,000.');
        if (n === sub.seats) return true;
        const ok = await change({ seats: n }, 'Fewer seats than in use?',
          h('p', {}, `Set ${sub.name} to ${plural(n, 'seat', 'seats')} while ${num(sub.seatsUsed)} are in use?`), 'Reduce seats');
        if (ok) ctx.announce(`${sub.name} now has ${plural(n, 'seat', 'seats')}.`);
        return ok;
      },
    });
  }

  function renameFlow() {
    renameDialog({
      title: 'Rename subscription', inputId: 'sub-name-input', current: sub.name, noun: 'subscription',
      save: async (name) => {
        const before = sub.name;
        if (!await change({ name }, 'Rename subscription?', null, 'Rename')) return false;
        ctx.announce(`${before} renamed to ${sub.name}.`);
        return true;
      },
    });
  }

  function termFlow() {
    const input = h('input', { id: 'term-end-input', type: 'date', value: sub.termEnd ? localDay(sub.termEnd) : '' });
    formDialog({
      title: `Term end of ${sub.name}`, submitLabel: 'Save term end',
      intro: h('p', {}, 'The subscription licenses devices until the start of this day, in this browser’s time zone. Leave it empty for no end.'),
      fields: [h('label', { for: 'term-end-input' }, 'Term ends on'), input],
      submit: async () => {
        const termEnd = input.value ? new Date(`${input.value}T00:00:00`).toISOString() : null;
        const ok = await change({ termEnd }, 'End the term now?', h('p', {}, `That day has begun: ${sub.name} stops licensing its devices at once.`), 'End term');
        if (ok) ctx.announce(termEnd ? `${sub.name} now ends on ${input.value}.` : `${sub.name} has no term end.`);
        return ok;
      },
    });
  }

  async function statusFlow() {
    const suspend = sub.status !== 'suspended';
    try {
      const ok = await change({ status: suspend ? 'suspended' : 'active' }, 'Suspend subscription?',
        h('p', {}, `Suspend ${sub.name}? A suspended subscription licenses no device until it is reactivated.`), 'Suspend');
      if (ok) ctx.announce(suspend ? `${sub.name} suspended.` : `${sub.name} reactivated.`);
    } catch (e) {
      showError("Couldn't change the subscription", e);
    }
  }

  const toolbar = h('div', { class: 'toolbar' });
  const drawToolbar = () => rebuild(toolbar,
    writeButton(ctx, 'Assign licences', () => (people ? assignToUserGroupFlow(ctx, sub, reload).catch((e) => showError("Couldn't assign licences", e)) : assignFlow(ctx, sub, reload)), { class: 'primary', id: 'assign-button' }),
    writeButton(ctx, 'Change seats', () => seatsFlow(), { id: 'seats-button' }),
    writeButton(ctx, 'Rename', renameFlow, { id: 'rename-subscription' }),
    writeButton(ctx, 'Change term end', termFlow, { id: 'term-button' }),
    writeButton(ctx, sub.status === 'suspended' ? 'Reactivate' : 'Suspend', statusFlow, { id: 'status-button' }));
  // The name may have changed (rename): the heading and the trail follow.
  const drawAll = () => {
    draw();
    drawToolbar();
    const h1 = el.querySelector('h1');
    if (h1 && h1.textContent !== sub.name) { h1.textContent = sub.name; el.querySelector('.crumbs [aria-current]').textContent = sub.name; document.title = `${sub.name} · devlic admin`; }
  };

  fill(el,
    crumbs(['Licences', '#/licences'], [sub.productName, `#/licences/${enc(sku)}`], [sub.name]),
    h('h1', { tabindex: '-1' }, sub.name), summary, toolbar,
    h('h2', {}, people ? 'User groups' : 'Groups'), groupsSection);
  drawAll();
  // A user product's page: its user groups' people and its seats move with `users` events (another admin, a directory sync).
  return liveRefresher(reload, seatsMayMove, 300, () => people);
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
      // Guarded: a nested group's devices can push seated devices out when seats are short.
      const a = await guarded({
        title: 'Assign licences?', confirmLabel: 'Assign',
        intro: h('p', {}, 'There are not enough seats: devices of ', h('strong', {}, picked.label), ' that come first in the seat order take seats from devices that have them now.'),
        send: (confirm) => post('/licenses/assign', { subscription: sub.id, group: picked.label, ...(confirm ? { confirm } : {}) }),
      });
      if (!a) { assignBtn.disabled = false; cb.input.focus(); return; }
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

/** The fleet view filtered to the devices this subscription reached but could not seat. */
const noSeatLink = (sub) => href('/devices', { filter: 'exhausted', subscription: sub.id });

/** YYYY-MM-DD of an instant in this browser's time zone (what <input type=date> shows). */
function localDay(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function showError(title, e) {
  openDialog({ title, body: [h('p', { class: 'error' }, e.message)], actions: (close) => [h('button', { type: 'button', onclick: close }, 'Close')] });
}

/** "Add a subscription": product, name, seats and an optional term end; opens the new subscription. */
function addSubscriptionFlow(ctx, products, sku) {
  const product = h('select', { id: 'new-sub-product' }, products.map((p) => h('option', { value: p.sku, selected: p.sku === sku }, p.name)));
  const name = h('input', { id: 'new-sub-name', type: 'text', maxlength: '128', autocomplete: 'off' });
  const seats = h('input', { id: 'new-sub-seats', type: 'number', min: '0', max: '10000000', inputmode: 'numeric', required: true });
  const termEnd = h('input', { id: 'new-sub-term', type: 'date' });
  formDialog({
    title: 'Add a subscription', submitLabel: 'Add subscription',
    fields: [
      h('div', { class: 'field' }, h('label', { for: 'new-sub-product' }, 'Product'), product),
      h('div', { class: 'field' }, h('label', { for: 'new-sub-name' }, 'Name (optional)'), name),
      h('div', { class: 'field' }, h('label', { for: 'new-sub-seats' }, 'Seats'), seats),
      h('div', { class: 'field' }, h('label', { for: 'new-sub-term' }, 'Term ends on (optional)'), termEnd),
    ],
    submit: async () => {
      const n = Number(seats.value);
      if (seats.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 10_000_000) throw new Error('Seats: a whole number from 0 to 10,000,000.');
      const s = await post('/subscriptions', {
        product: product.value, seats: n, ...(name.value.trim() ? { name: name.value.trim() } : {}),
        ...(termEnd.value ? { termEnd: new Date(`${termEnd.value}T00:00:00`).toISOString() } : {}),
      });
      ctx.announce(`Subscription ${s.name} added with ${plural(s.seats, 'seat', 'seats')}.`);
      ctx.navigate(`#/licences/${enc(s.product)}/${enc(s.id)}`);
      return true;
    },
  });
}

/** Seat counts move only when entitlements change, not on every report. */
const seatsMayMove = (ev) => ev.all || ev.changed.length > 0;
