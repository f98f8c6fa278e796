// Subscriptions of user products (issue 16) in the console: seats count
// people, a subscription goes to user groups (not device groups), and the
// assign / unassign flows shared by a subscription's page (licences.js) and
// a user group's page (user-groups.js). Taking people's licences goes
// through guard.js like devices' seats: the console asks exactly when the
// service does (CONFIRMATION_REQUIRED, with its own count).
import { get, post, enc } from './api.js';
import { h, table, row, num, plural, date, writeButton } from './dom.js';
import { formDialog, openDialog } from './dialog.js';
import { guarded } from './guard.js';

/** Whether a product's seats are for people (the service says `kind`; older services say nothing: devices). */
export const isUserProduct = (p) => p?.kind === 'user';

/** Every subscription of a user product, as GET /subscriptions lists them. */
export async function userSubscriptions() {
  const [products, subs] = await Promise.all([get('/products'), get('/subscriptions')]);
  const user = new Set(products.items.filter(isUserProduct).map((p) => p.sku));
  return subs.items.filter((s) => user.has(s.product));
}

/** The user groups a subscription is assigned to, each with its number of people. */
export async function userAssignmentsOf(subId) {
  const [assignments, groups] = await Promise.all([get('/user-licenses'), get('/user-groups')]);
  const people = new Map(groups.items.map((g) => [g.id, g.memberCount]));
  return assignments.items.filter((a) => a.subscription.id === subId).map((a) => ({ ...a, people: people.get(a.userGroup.id) ?? 0 }));
}

/** "20 seats: 12 people hold one, 8 available." */
export function peopleSeatSummary(seats, used) {
  return [h('strong', {}, num(seats)), ` ${seats === 1 ? 'seat' : 'seats'} for people: `, h('strong', {}, num(used)),
    ` ${used === 1 ? 'person holds' : 'people hold'} one, `, h('strong', {}, num(Math.max(0, seats - used))), ' available.'];
}

/** The warning when people of assigned user groups got no seat; a global-admin can add seats from it. */
export function peopleWithoutSeat(sub, ctx, addSeats) {
  if (!sub.seatsExhausted) return null;
  return h('div', { class: 'warning', id: 'people-without-seat' },
    h('p', { class: 'warn-text' }, `${plural(sub.seatsExhausted, 'person is', 'people are')} in an assigned user group but got no seat (SEATS_EXHAUSTED).`),
    h('p', {}, 'Seats go to people in the order they were added to a group.',
      ctx.canWrite ? [' ', h('button', { type: 'button', class: 'small', id: 'add-seats-warning', onclick: addSeats }, 'Add seats')] : ' A global-admin can add seats.'));
}

/** The subscription page's table of user groups, with Unassign for a global-admin. */
export function userGroupsTable(ctx, sub, assignments, reload) {
  if (!assignments.length) return h('p', { class: 'muted' }, 'This subscription is not assigned to any user group yet.');
  const cols = ['User group', 'People', 'Assigned on', ...(ctx.canWrite ? ['Actions'] : [])];
  return table(`User groups assigned ${sub.name}`, cols, assignments.map((a) => row(cols, [
    h('a', { href: `#/user-groups/${enc(a.userGroup.id)}` }, a.userGroup.name), num(a.people), date(a.createdAt, true),
    ...(ctx.canWrite ? [writeButton(ctx, 'Unassign', () => unassignFlow(ctx, sub, a.userGroup, reload), { class: 'small', 'aria-label': `Unassign ${sub.name} from ${a.userGroup.name}` })] : []),
  ], { 'data-user-group': a.userGroup.name })), { class: 'data' }).wrap;
}

/**
 * Unassigns through guard.js, like a device group's unassign: sent without
 * `confirm`; a service that guards people's licences answers
 * CONFIRMATION_REQUIRED with its count, shown and confirmed before resending.
 * Resolves true when it was done.
 */
export async function unassignFlow(ctx, sub, group, reload) {
  let r;
  try {
    r = await guarded({
      title: 'Unassign licences?', confirmLabel: 'Unassign',
      intro: [h('p', {}, 'Unassign ', h('strong', {}, sub.name), ' from the user group ', h('strong', {}, group.name), '?'),
        h('p', {}, 'Nothing is deleted; assign it again to undo.')],
      send: (confirm) => post('/user-licenses/unassign', { subscription: sub.id, userGroup: group.id, ...(confirm ? { confirm } : {}) }),
    });
  } catch (e) {
    errorDialog("Couldn't unassign licences", e);
    return false;
  }
  if (!r) return false;
  ctx.announce(`Unassigned ${sub.name} from ${group.name}. Its people no longer have this licence.`);
  await reload();
  // The button that was clicked is gone with its row or card: focus goes to the Assign button that replaced it.
  (document.getElementById('assign-button') ?? document.getElementById('assign-user-licence'))?.focus();
  return true;
}

/** Runs `open` unless one is already loading: a second click while the list loads opens no second dialog. */
let loading = false;
async function once(open) {
  if (loading) return;
  loading = true;
  try { await open(); } finally { loading = false; }
}

/** From a subscription's page: pick a user group without a licence. */
export const assignToUserGroupFlow = (ctx, sub, reload) => once(async () => {
  const groups = (await get('/user-groups')).items;
  const free = groups.filter((g) => !g.subscription);
  const taken = groups.length - free.length;
  // The service refuses a group that already has a subscription (GROUP_ALREADY_LICENSED): those are not offered.
  const note = taken ? h('p', { class: 'help' }, `${plural(taken, 'user group already has', 'user groups already have')} a licence and ${taken === 1 ? 'is' : 'are'} not listed: a user group has one.`) : null;
  if (!free.length) {
    infoDialog('Assign licences', [h('p', {}, 'There is no user group without a licence.'), note,
      h('p', {}, h('a', { href: '#/user-groups' }, 'Create a user group'), ' first, then assign this subscription to it.')]);
    return;
  }
  const select = h('select', { id: 'assign-user-group' }, free.map((g) => h('option', { value: g.id }, `${g.name} (${plural(g.memberCount, 'person', 'people')})`)));
  formDialog({
    title: 'Assign licences', submitLabel: 'Assign',
    intro: h('p', {}, 'Assign ', h('strong', {}, sub.name), ' to a user group. Everyone in it gets a seat while seats last, on any device they sign in on.'),
    fields: [h('label', { for: 'assign-user-group' }, 'User group'), select, note],
    submit: async () => {
      const a = await post('/user-licenses/assign', { subscription: sub.id, userGroup: select.value });
      ctx.announce(`Assigned ${a.subscription.name} to ${a.userGroup.name}.`);
      await reload();
      return true;
    },
  });
});

/** From a user group's page: pick a subscription of a user product. */
export const assignSubscriptionFlow = (ctx, group, reload) => once(async () => {
  const subs = await userSubscriptions();
  if (!subs.length) {
    infoDialog('Assign a licence', [h('p', {}, 'There is no subscription of a user product yet.'),
      h('p', {}, 'Add one under ', h('a', { href: '#/licences' }, 'Licences'), ' (a product whose name ends in “(user)”), then assign it here.')]);
    return;
  }
  const select = h('select', { id: 'assign-subscription' }, subs.map((s) => h('option', { value: s.id },
    `${s.name} — ${s.productName}: ${num(s.seatsUsed)} of ${plural(s.seats, 'seat', 'seats')} used${s.status === 'active' ? '' : ` (${s.status})`}`)));
  formDialog({
    title: 'Assign a licence', submitLabel: 'Assign',
    intro: h('p', {}, 'Everyone in ', h('strong', {}, group.name), ' gets a seat of the subscription while seats last, on any device they sign in on. A user group has one subscription.'),
    fields: [h('label', { for: 'assign-subscription' }, 'Subscription'), select],
    submit: async () => {
      const a = await post('/user-licenses/assign', { subscription: select.value, userGroup: group.id });
      ctx.announce(`Assigned ${a.subscription.name} to ${a.userGroup.name}.`);
      await reload();
      return true;
    },
  });
});

function infoDialog(title, body) {
  openDialog({ title, body, actions: (close) => [h('button', { type: 'button', class: 'primary', onclick: close }, 'Close')] });
}

function errorDialog(title, e) {
  openDialog({ title, body: [h('p', { class: 'error' }, e.message)], actions: (close) => [h('button', { type: 'button', onclick: close }, 'Close')] });
}
