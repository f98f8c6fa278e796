// User groups (issue 16): people, listed by sign-in name, who get a licence
// of their own by a user product's subscription assigned to their group. The
// list with members and licence, New user group, and a group's page: its
// licence (assign / unassign, global-admin only), its people with each one's
// current answer (one request per page: GET /user-groups/ID/users), add by
// sign-in name and remove (both take licences through guard.js: asked
// exactly when the service asks).
// The service normalises names (shared/sign-in.ts): the page says how a
// typed name was stored, and shows its refusal (SIGN_IN_NAME_INVALID) as
// the service words it. A global-admin renames a group and deletes one that
// holds no licence (the service refuses otherwise: unassign first).
// Readers see everything and get no change controls.
// Both pages follow the `users` live event (service/http/admin-events.ts):
// another admin's change, or a directory sync moving people, shows without a
// reload; a group's page re-reads its people only when the event names the
// group or someone it shows, else just its licence's seat count.
import { get, post, patch, del, enc } from './api.js';
import { h, fill, rebuild, table, row, num, plural, date, crumbs, writeButton, forWriters, reasonLabel, liveRefresher } from './dom.js';
import { confirmDialog, errorArea, renameDialog } from './dialog.js';
import { guarded } from './guard.js';
import { pager } from './widgets.js';
import { assignSubscriptionFlow, peopleSeatSummary, unassignFlow, userSubscriptions } from './user-licences.js';

const PAGE = 50;

export async function render(el, parts, _query, ctx) {
  return parts.length ? renderGroup(el, parts[0], ctx) : renderGroups(el, ctx);
}

/** `#/licences/SKU/ID` of each user group's subscription (GET /user-licenses names the product). */
async function licenceLinks() {
  const a = await get('/user-licenses');
  return new Map(a.items.map((x) => [x.userGroup.id, `#/licences/${enc(x.product)}/${enc(x.subscription.id)}`]));
}

async function renderGroups(el, ctx) {
  const cols = ['User group', 'People', 'Licence', 'Created'];
  const list = h('div');
  const load = async () => {
    const [groups, links] = await Promise.all([get('/user-groups'), licenceLinks()]);
    rebuild(list, groups.items.length ? table('User groups', cols, groups.items.map((g) => row(cols, [
      h('a', { href: `#/user-groups/${enc(g.id)}` }, g.name), num(g.memberCount),
      g.subscription ? h('a', { href: links.get(g.id) ?? '#/licences' }, g.subscription.name) : h('span', { class: 'muted' }, 'none'),
      date(g.createdAt),
    ], { 'data-user-group': g.name })), { class: 'data' }).wrap : h('p', { class: 'muted' }, 'No user groups yet.'));
  };
  await load();

  const newGroupForm = () => {
    const err = errorArea();
    err.id = 'new-user-group-error';
    const name = h('input', { id: 'new-user-group-name', type: 'text', required: true, maxlength: '128', autocomplete: 'off', 'aria-describedby': 'new-user-group-error' });
    const form = h('form', { class: 'inline-form', 'aria-labelledby': 'h-new-user-group', novalidate: true },
      h('h2', { id: 'h-new-user-group' }, 'New user group'),
      h('div', { class: 'field' }, h('label', { for: 'new-user-group-name' }, 'Name'), name),
      h('button', { type: 'submit', class: 'primary' }, 'Create user group'), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!name.value.trim()) { err.textContent = 'Give the user group a name.'; name.focus(); return; }
      try {
        const g = await post('/user-groups', { name: name.value.trim() });
        ctx.announce(`User group ${g.name} created.`);
        ctx.navigate(`#/user-groups/${enc(g.id)}`);
      } catch (e2) { err.textContent = e2.message; name.focus(); }
    });
    return form;
  };

  fill(el, h('h1', { tabindex: '-1' }, 'User groups'),
    h('p', { class: 'lead' }, 'People with a licence of their own: a subscription of a user product goes to a user group, and everyone in it gets full apps on any device they sign in on, licensed or not. Seats count people.'),
    forWriters(ctx, newGroupForm), h('h2', {}, 'All user groups'), list);
  // Any user change may add a group or change a count or licence shown here: the list is one small read.
  return liveRefresher(load, () => false, 300, () => true);
}

/** A person's licence as the service would answer them now. */
function personLicence(l, subNames) {
  if (l.status === 'licensed') {
    return h('span', { class: 'licence ok' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Seat: ', subNames.get(l.subscription) ?? l.subscription);
  }
  return h('span', { class: 'licence no' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), reasonLabel(l.reason), ' ', h('code', {}, l.reason));
}

async function renderGroup(el, id, ctx) {
  let g = await get(`/user-groups/${enc(id)}`);
  let subs = await userSubscriptions();
  let offset = 0;
  /** The page of people shown: GET /user-groups/ID/users answers each as GET /users/NAME/license would. */
  let people = { items: [], total: 0 };
  const info = h('div');
  const lead = h('p', { class: 'lead', id: 'user-group-count' });
  const members = h('div');
  const err = errorArea();
  const fail = (e) => { err.textContent = e.message; };

  const sub = () => (g.subscription ? subs.find((s) => s.id === g.subscription.id) ?? null : null);
  // A user group that follows a directory group (a service with directory user groups says `directory`) refuses
  // hand edits (GROUP_IS_DIRECTORY_BASED): none are offered, as on a directory device group's page.
  const handEdits = () => ctx.canWrite && !g.directory;

  const drawInfo = () => {
    const s = sub();
    lead.textContent = `User group · ${plural(g.memberCount, 'person', 'people')}`;
    rebuild(info, h('section', { class: 'card', 'aria-labelledby': 'h-user-licence', id: 'user-group-licence' }, h('h2', { id: 'h-user-licence' }, 'Licence'),
      g.subscription
        ? [h('p', {}, h('a', { href: s ? `#/licences/${enc(s.product)}/${enc(s.id)}` : '#/licences' }, g.subscription.name), s ? ` (${s.productName})` : null),
          s ? h('p', { id: 'user-group-seats' }, peopleSeatSummary(s.seats, s.seatsUsed)) : null,
          writeButton(ctx, 'Unassign licence', () => unassignFlow(ctx, { id: g.subscription.id, name: g.subscription.name }, g, reload), { id: 'unassign-user-licence' })]
        : [h('p', { class: 'muted' }, 'No licence: its people get full apps only on licensed devices.'),
          writeButton(ctx, 'Assign a licence', () => assignSubscriptionFlow(ctx, g, reload).catch(fail), { id: 'assign-user-licence', class: 'primary' })]));
  };

  async function loadMembers() {
    people = await get(`/user-groups/${enc(g.id)}/users`, { offset, limit: PAGE });
    // People left since the page was chosen: show the last page there is.
    if (offset > 0 && offset >= people.total) {
      offset = Math.max(0, Math.floor((people.total - 1) / PAGE) * PAGE);
      people = await get(`/user-groups/${enc(g.id)}/users`, { offset, limit: PAGE });
    }
    const names = new Map(subs.map((s) => [s.id, s.name]));
    const cols = ['Person', 'Licence', ...(handEdits() ? ['Actions'] : [])];
    rebuild(members,
      people.items.length ? table(`People in ${g.name}`, cols, people.items.map((l) => row(cols, [
        l.user, personLicence(l, names),
        ...(handEdits() ? [writeButton(ctx, 'Remove', () => removeUser(l.user), { class: 'small', 'aria-label': `Remove ${l.user} from ${g.name}` })] : []),
      ], { 'data-user': l.user })), { class: 'data', id: 'user-group-members' }).wrap : h('p', { class: 'muted' }, 'No people in this group yet.'),
      people.total > PAGE ? pager({ offset, limit: PAGE, total: people.total, noun: 'people', go: (o) => { offset = o; loadMembers().catch(fail); } }) : null);
  }

  async function reload() {
    [g, subs] = await Promise.all([get(`/user-groups/${enc(id)}`), userSubscriptions()]);
    drawInfo();
    // The name may have changed (a rename, here or by another admin): the heading and the trail follow.
    const h1 = el.querySelector('h1');
    if (h1 && h1.textContent !== g.name) { h1.textContent = g.name; el.querySelector('.crumbs [aria-current]').textContent = g.name; document.title = `${g.name} · devlic admin`; }
    await loadMembers();
  }

  // Live: the event names this group or someone shown -> re-read the group and its people;
  // other people's licences moved -> only the seat count of this group's subscription can have changed.
  let peopleStale = false;
  const wantsUsers = (ev) => {
    const mine = ev.all || ev.groups.includes(g.id) || people.items.some((l) => ev.people.includes(l.user));
    if (mine) peopleStale = true;
    return mine || (!!g.subscription && ev.people.length > 0);
  };
  const liveReload = async () => {
    if (!peopleStale) { subs = await userSubscriptions(); drawInfo(); return; }
    peopleStale = false;
    try {
      await reload();
    } catch (e) {
      // Deleted meanwhile (by another admin): say so instead of an error about a group the page still shows.
      if (e.status !== 404) throw e;
      fill(el, crumbs(['User groups', '#/user-groups'], [g.name]), h('h1', { tabindex: '-1' }, g.name),
        h('p', { id: 'user-group-gone', role: 'status' }, 'This user group has been deleted. ', h('a', { href: '#/user-groups' }, 'All user groups')));
    }
  };

  function renameFlow() {
    renameDialog({
      title: 'Rename user group', inputId: 'user-group-name-input', current: g.name, noun: 'user group',
      intro: g.directory ? h('p', { id: 'rename-directory-note' }, 'The new name is devlic\'s only: the group still follows ', h('code', {}, g.directory.dn),
        ' in ', g.directory.name, ', and nothing changes in the directory.') : undefined,
      save: async (name) => {
        const before = g.name;
        await patch(`/user-groups/${enc(g.id)}`, { name });
        await reload();
        ctx.announce(`${before} renamed to ${g.name}.`);
        return true;
      },
    });
  }

  async function deleteFlow() {
    err.textContent = '';
    // The service refuses while a licence is assigned (GROUP_HAS_LICENSES): say so before asking.
    if (g.subscription) {
      err.textContent = `${g.name} has the licence ${g.subscription.name}: unassign it first, then delete the group.`;
      return;
    }
    const ok = await confirmDialog({
      title: `Delete the user group ${g.name}?`, confirmLabel: 'Delete user group',
      body: [h('p', {}, `Its list of ${plural(g.memberCount, 'person', 'people')} goes with it; nobody loses a licence (the group has none). The audit log keeps what happened.`),
        g.directory ? h('p', { id: 'delete-directory-note' }, 'The directory group ', h('code', {}, g.directory.dn), ' in ', g.directory.name,
          ' is not changed: devlic only stops following it.') : null],
    });
    if (!ok) return;
    try {
      const r = await del(`/user-groups/${enc(g.id)}`);
      ctx.announce(`User group ${r.name} deleted.`);
      ctx.navigate('#/user-groups');
    } catch (e) { fail(e); document.querySelector('#main h1')?.focus(); }
  }

  async function removeUser(u) {
    err.textContent = '';
    try {
      // Guarded like a device leaving a licensed group: the service says whether someone loses a licence, the admin confirms that.
      const r = await guarded({
        title: `Remove ${u}?`, confirmLabel: 'Remove',
        intro: h('p', {}, 'Remove ', h('strong', {}, u), ' from ', h('strong', {}, g.name), '?'),
        send: (confirm) => post(`/user-groups/${enc(g.id)}/users/remove`, { users: [u], ...(confirm ? { confirm } : {}) }),
      });
      if (!r) return;
      ctx.announce(`${u} removed from ${g.name}.`);
      await reload();
      document.getElementById('add-user-name')?.focus();
    } catch (e) { fail(e); }
  }

  const addForm = () => {
    const input = h('input', { id: 'add-user-name', type: 'text', maxlength: '256', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'add-user-help add-user-error' });
    const addErr = h('p', { class: 'error', role: 'alert', id: 'add-user-error' });
    const done = h('p', { class: 'success', role: 'status', id: 'add-user-result' });
    const form = h('form', { class: 'inline-form', 'aria-labelledby': 'h-add-user', novalidate: true },
      h('h3', { id: 'h-add-user' }, 'Add a person'),
      h('div', { class: 'field' }, h('label', { for: 'add-user-name' }, 'Sign-in name'), input,
        h('p', { class: 'help', id: 'add-user-help' }, 'As devices report it: user, user@domain or DOMAIN\\user. The service stores one spelling: lower case, DOMAIN\\user as user@domain, .\\user as user. A NetBIOS domain is not a DNS domain: CONTOSO\\alice is alice@contoso, not alice@contoso.com.')),
      h('button', { type: 'submit', class: 'primary' }, 'Add'), addErr, done);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      addErr.textContent = '';
      done.textContent = '';
      input.removeAttribute('aria-invalid');
      const typed = input.value.trim();
      if (!typed) { addErr.textContent = 'Type a sign-in name.'; input.setAttribute('aria-invalid', 'true'); input.focus(); return; }
      let after;
      try {
        after = await post(`/user-groups/${enc(g.id)}/users`, { users: [typed] });
      } catch (e2) {
        // The service's own reason (SIGN_IN_NAME_INVALID names the input and the rule it breaks); nothing was added.
        addErr.textContent = `Not added: ${e2.message}`;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      // The service says which spelling it stored (members lists only the first 1,000 of a group).
      const added = after.added[0];
      const msg = added === undefined ? `${typed} is already in ${g.name}.` : added !== typed ? `Added ${typed} as ${added}.` : `Added ${added}.`;
      input.value = '';
      await reload();
      done.textContent = msg;
      ctx.announce(msg);
      input.focus();
    });
    return form;
  };

  drawInfo();
  await loadMembers();
  fill(el, crumbs(['User groups', '#/user-groups'], [g.name]), h('h1', { tabindex: '-1' }, g.name),
    forWriters(ctx, () => h('div', { class: 'toolbar' },
      writeButton(ctx, 'Rename', renameFlow, { id: 'rename-user-group' }),
      writeButton(ctx, 'Delete user group', deleteFlow, { id: 'delete-user-group', class: 'danger' }))),
    lead,
    err, info,
    h('h2', {}, 'People'),
    g.directory ? h('p', { class: 'muted', id: 'members-follow' }, 'Members follow the directory group ', h('code', {}, g.directory.dn), ' in ', g.directory.name, '.')
      : forWriters(ctx, addForm),
    members);
  return liveRefresher(liveReload, () => false, 300, wantsUsers);
}
