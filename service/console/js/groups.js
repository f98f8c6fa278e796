// Groups: create, nest (a licensed group reaches the devices of the groups
// nested in it), add and remove devices, and the members with their licence
// state. Members are paged on the server (GET /devices?group=) so a group of
// thousands of devices stays quick. A global-admin renames and deletes groups
// (the service refuses to delete one that holds licences); removals that
// would make devices read-only are confirmed with the service's count. A
// global-admin sets, changes or removes a group's rule on its page, with the
// same live preview as the New group form. A directory group's members follow
// its directory group, so it offers no hand edits and no rule editor; it is
// renamed, deleted and nested (inside others, or others inside it) like any
// group, as the service allows, and the dialogs say the directory is untouched.
import { get, post, patch, del, enc } from './api.js';
import { h, fill, rebuild, table, row, ago, licenceCell, modeCell, plural, writeButton, forWriters, liveRefresher, crumbs } from './dom.js';
import { confirmDialog, errorArea, renameDialog } from './dialog.js';
import { combobox, pager } from './widgets.js';
import { guarded } from './guard.js';
import { ruleField } from './rules.js';

const PAGE = 50;

export async function render(el, parts, query, ctx) {
  return parts.length ? renderGroup(el, parts[0], ctx) : renderGroups(el, query, ctx);
}

const searchGroups = (exclude = () => false) => async (q) => (await get('/groups', { q })).items.filter((g) => !exclude(g)).slice(0, 20)
  .map((g) => ({ id: g.id, label: g.name, detail: g.subscription ? g.subscription.name : plural(g.deviceCount, 'device', 'devices') }));

async function renderGroups(el, query, ctx) {
  const cols = ['Group', 'Devices (direct)', 'Subscription', 'Nested in', 'Contains'];
  const list = h('div');
  let q = query.q ?? '';
  const load = async () => {
    const r = await get('/groups', { q });
    rebuild(list, r.items.length ? table('Groups', cols, r.items.map((g) => row(cols, [
      h('a', { href: `#/groups/${enc(g.id)}` }, g.name), String(g.deviceCount),
      g.subscription ? g.subscription.name : h('span', { class: 'muted' }, 'none'),
      g.parents.map((p) => p.name).join(', ') || h('span', { class: 'muted' }, '—'),
      g.children.map((c) => c.name).join(', ') || h('span', { class: 'muted' }, '—'),
    ])), { class: 'data' }).wrap : h('p', { class: 'muted' }, q ? `No groups match “${q}”.` : 'No groups yet.'));
  };
  await load();

  const newGroupForm = () => {
    const err = errorArea();
    const name = h('input', { id: 'new-group-name', type: 'text', required: true, maxlength: '128', autocomplete: 'off' });
    let parent = null;
    const parentBox = combobox({ label: 'Nested inside (optional)', placeholder: 'Type a group name', noun: 'groups', search: searchGroups(), onPick: (it) => { parent = it; } });
    // Optional rule: members follow it (docs/design.md, "Rule-based groups"); previewed live by the service's own parser.
    const rule = ruleField({ id: 'new-group-rule', label: 'Rule (optional), e.g. hostname like "lab-*"' });
    const form = h('form', { class: 'inline-form', 'aria-labelledby': 'h-new-group' },
      h('h2', { id: 'h-new-group' }, 'New group'),
      h('div', { class: 'field' }, h('label', { for: 'new-group-name' }, 'Name'), name), parentBox.el,
      rule.el,
      h('button', { type: 'submit', class: 'primary' }, 'Create group'), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!name.value.trim()) { err.textContent = 'Give the group a name.'; name.focus(); return; }
      try {
        const g = await post('/groups', { name: name.value.trim(), ...(parent ? { parent: parent.id } : {}), ...(rule.value() ? { rule: rule.value() } : {}) });
        ctx.announce(`Group ${g.name} created.`);
        ctx.navigate(`#/groups/${enc(g.id)}`);
      } catch (e2) { err.textContent = e2.message; name.focus(); }
    });
    return form;
  };

  const search = h('input', { type: 'search', id: 'group-search', value: q, autocomplete: 'off' });
  let t = 0;
  search.addEventListener('input', () => { clearTimeout(t); t = setTimeout(() => { q = search.value.trim(); load(); }, 250); });
  fill(el, h('h1', { tabindex: '-1' }, 'Groups'),
    h('p', { class: 'lead' }, 'Licences go to groups of devices. Groups nested inside a licensed group are licensed too.'),
    forWriters(ctx, newGroupForm), h('h2', {}, 'All groups'), h('div', { class: 'field' }, h('label', { for: 'group-search' }, 'Search groups'), search), list);
  return liveRefresher(load, (ev) => ev.all || ev.changed.length > 0);
}

async function renderGroup(el, id, ctx) {
  let g = await get(`/groups/${enc(id)}`);
  let sub = g.subscription ? await get(`/subscriptions/${enc(g.subscription.id)}`) : null;
  let offset = 0;
  const cursors = new Map(); // offset of a page reached by Next -> the cursor it starts after
  let shownIds = new Set();
  const info = h('div');
  const members = h('div');
  const err = errorArea();
  // Hand edits only where the service allows them: not in a rule or directory group (GROUP_IS_RULE_BASED / GROUP_IS_DIRECTORY_BASED).
  const handEdits = () => ctx.canWrite && !g.rule && !g.directory;

  const fail = (e) => { err.textContent = e.message; };

  const drawInfo = () => rebuild(info, h('div', { class: 'cards' },
    h('section', { class: 'card', 'aria-labelledby': 'h-sub' }, h('h2', { id: 'h-sub' }, 'Licence'),
      sub ? h('p', {}, h('a', { href: `#/licences/${enc(sub.product)}/${enc(sub.id)}` }, sub.name), ` (${sub.productName})`)
        : h('p', { class: 'muted' }, g.parents.length ? 'No subscription of its own; see the groups it is nested in.' : 'No subscription.'),
      g.directory ? h('p', { id: 'group-directory' }, 'Directory: ', g.directory.name, ' (', h('code', {}, g.directory.dn), ')')
        : h('p', {}, 'Rule: ', g.rule ? h('code', {}, g.rule) : h('span', { class: 'muted' }, 'none (members added by hand)')),
      h('p', {}, 'Nested in: ', g.parents.length ? g.parents.map((p, i) => [i ? ', ' : '', h('a', { href: `#/groups/${enc(p.id)}` }, p.name)]) : h('span', { class: 'muted' }, 'no group'))),
    h('section', { class: 'card', 'aria-labelledby': 'h-children' }, h('h2', { id: 'h-children' }, 'Groups nested inside'),
      g.children.length ? h('ul', { class: 'plain' }, g.children.map((c) => h('li', {},
        h('a', { href: `#/groups/${enc(c.id)}` }, c.name), ' ',
        writeButton(ctx, 'Remove', () => unnest(c), { class: 'small', id: `unnest-${c.id}`, 'aria-label': `Remove ${c.name} from the groups nested in ${g.name}` }))))
        : h('p', { class: 'muted' }, 'None.'),
      forWriters(ctx, () => picker('nest-search', 'Nest a group inside', 'Nest', searchGroups((x) => x.id === g.id), (it) => guardedAct({
        title: 'Nest this group?', confirmLabel: 'Nest',
        intro: h('p', {}, 'Nesting ', h('strong', {}, it.label), ' in ', h('strong', {}, g.name), ' brings devices that come first in the seat order.'),
        send: (confirm) => post(`/groups/${enc(g.id)}/children`, { group: it.id, ...(confirm ? { confirm } : {}) }),
      }, `${it.label} nested in ${g.name}.`))))));

  function picker(id, label, verb, search, run) {
    let picked = null;
    const btn = h('button', {
      type: 'button', disabled: true,
      onclick: async () => {
        if (!picked) return;
        await run(picked);
        // The card may have re-rendered with a fresh picker: focus goes to its search box either way.
        if (!cb.input.isConnected) { document.getElementById(id)?.focus(); return; }
        cb.clear(); picked = null; btn.disabled = true; cb.input.focus();
      },
    }, verb);
    const cb = combobox({ id, label, placeholder: 'Type to search', noun: 'results', search, onPick: (it) => { picked = it; btn.disabled = !it; } });
    return h('div', { class: 'picker' }, cb.el, btn);
  }

  async function loadMembers() {
    // Next asks for the page after the last device shown (the service's cursor): the same cost at any depth.
    const r = await get('/devices', { group: g.id, limit: PAGE, ...(offset > 0 && cursors.has(offset) ? { after: cursors.get(offset), recount: 'true' } : { offset }) });
    if (r.next) cursors.set(offset + PAGE, r.next);
    const cols = ['Device', 'Licence', 'Last reported mode', 'Last seen', ...(handEdits() ? ['Actions'] : [])];
    shownIds = new Set(r.items.map((d) => d.id));
    rebuild(members,
      r.items.length ? table(`Devices in ${g.name}`, cols, r.items.map((d) => row(cols, [
        h('a', { href: `#/devices/${enc(d.id)}` }, d.name), licenceCell(d), h('span', { 'data-col': 'mode' }, modeCell(d)), ago(d.lastSeenAt),
        ...(handEdits() ? [writeButton(ctx, 'Remove', () => removeDevice(d), { class: 'small', id: `remove-${d.id}`, 'aria-label': `Remove ${d.name} from ${g.name}` })] : []),
      ], { 'data-device-id': d.id })), { class: 'data' }).wrap : h('p', { class: 'muted' }, 'No devices in this group directly.'),
      pager({ offset, limit: PAGE, total: r.total, asOf: r.totalAsOf, next: r.next, noun: 'devices', go: (o) => { offset = o; loadMembers(); } }));
  }

  /** Runs a guarded change: the service says whether devices go read-only, the admin confirms that. */
  async function guardedAct(o, msg) {
    err.textContent = '';
    try {
      if (await guarded(o) === null) return;
      ctx.announce(msg);
      await reload();
    } catch (e) { fail(e); }
  }

  const removeDevice = (d) => guardedAct({
    title: 'Remove device from group?', confirmLabel: 'Remove',
    intro: h('p', {}, 'Remove ', h('strong', {}, d.name), ' from ', h('strong', {}, g.name), '?'),
    send: (confirm) => post(`/groups/${enc(g.id)}/devices/remove`, { devices: [d.id], ...(confirm ? { confirm } : {}) }),
  }, `${d.name} removed from ${g.name}.`);

  const unnest = (c) => guardedAct({
    title: 'Stop nesting this group?', confirmLabel: 'Remove',
    intro: h('p', {}, 'Remove ', h('strong', {}, c.name), ' from the groups nested in ', h('strong', {}, g.name), '? Its devices no longer get the licences of ', g.name, '.'),
    send: (confirm) => post(`/groups/${enc(g.id)}/children/remove`, { group: c.id, ...(confirm ? { confirm } : {}) }),
  }, `${c.name} is no longer nested in ${g.name}.`);

  function renameFlow() {
    renameDialog({
      title: 'Rename group', inputId: 'group-name-input', current: g.name, noun: 'group',
      // The service renames a directory group like any other; the name is devlic's own, so say what does not change.
      intro: g.directory ? h('p', { id: 'rename-directory-note' }, 'The new name is devlic\'s only: the group still follows ', h('code', {}, g.directory.dn),
        ' in ', g.directory.name, ', and nothing changes in the directory.') : undefined,
      save: async (name) => {
        const before = g.name;
        await patch(`/groups/${enc(g.id)}`, { name });
        await reload();
        ctx.announce(`${before} renamed to ${g.name}.`);
        return true;
      },
    });
  }

  async function deleteFlow() {
    err.textContent = '';
    const ok = await confirmDialog({
      title: `Delete the group ${g.name}?`, confirmLabel: 'Delete group',
      body: [h('p', {}, 'The devices in it stay enrolled; they only leave this group, and groups nested in it are no longer nested here. The audit log keeps what happened.'),
        // Deleting a directory group only stops following it: the directory is never written to.
        g.directory ? h('p', { id: 'delete-directory-note' }, 'The directory group ', h('code', {}, g.directory.dn), ' in ', g.directory.name,
          ' is not changed: devlic only stops following it. Once no group follows ', g.directory.name, ', the connection can be removed.') : null],
    });
    if (!ok) return;
    try {
      const r = await guarded({
        title: `Delete the group ${g.name}?`, confirmLabel: 'Delete group',
        intro: h('p', {}, 'Its devices get licences through ', g.parents.map((p, i) => [i ? ', ' : '', h('strong', {}, p.name)]), ', which they lose with it.'),
        send: (confirm) => del(`/groups/${enc(g.id)}`, confirm ? { confirm } : {}),
      });
      if (!r) return;
      ctx.announce(`Group ${r.name} deleted.`);
      ctx.navigate('#/groups');
    } catch (e) { fail(e); document.querySelector('#main h1')?.focus(); }
  }

  async function reload() {
    g = await get(`/groups/${enc(id)}`);
    sub = g.subscription ? await get(`/subscriptions/${enc(g.subscription.id)}`) : null;
    drawInfo();
    ruleEditor?.sync();
    drawAdd();
    const h1 = el.querySelector('h1');
    if (h1 && h1.textContent !== g.name) { h1.textContent = g.name; el.querySelector('.crumbs [aria-current]').textContent = g.name; document.title = `${g.name} · devlic admin`; }
    await loadMembers();
  }

  /** Set or replace the rule (guarded: seats can move), or remove it: the members stay, as manual members. */
  const ruleEditor = g.directory ? null : forWriters(ctx, () => {
    const field = ruleField({ id: 'group-rule', label: 'Rule: members are the devices it matches', value: g.rule ?? '' });
    const save = h('button', { type: 'button', id: 'save-rule', class: 'primary', onclick: () => {
      if (!field.value()) { err.textContent = 'Type a rule, or use Remove rule to add members by hand.'; field.input.focus(); return; }
      return guardedAct({
        title: 'Change the rule?', confirmLabel: 'Change rule',
        intro: h('p', {}, 'The members of ', h('strong', {}, g.name), ' become the devices the rule matches', g.rule ? '' : ' (devices added by hand leave)', '.'),
        send: (confirm) => post(`/groups/${enc(g.id)}/rule`, { rule: field.value(), ...(confirm ? { confirm } : {}) }),
      }, `Rule of ${g.name} saved.`);
    } }, 'Save rule');
    const remove = h('button', { type: 'button', id: 'remove-rule', onclick: async () => {
      err.textContent = '';
      try {
        await post(`/groups/${enc(g.id)}/rule`, { rule: null });
        const kept = g.deviceCount;
        await reload();
        ctx.announce(`Rule removed: the ${plural(kept, 'member stays', 'members stay')} in ${g.name}, now added by hand.`);
        note.textContent = `The rule was removed; the ${plural(kept, 'member stays', 'members stay')}, now as members added by hand.`;
      } catch (e) { fail(e); }
    } }, 'Remove rule');
    const note = h('p', { id: 'rule-note', role: 'status' });
    const sync = () => { field.set(g.rule ?? ''); remove.hidden = !g.rule; note.textContent = ''; };
    sync();
    return { el: h('section', { class: 'card', 'aria-labelledby': 'h-rule' }, h('h2', { id: 'h-rule' }, 'Rule'), field.el, h('div', { class: 'toolbar' }, save, remove), note), sync };
  });

  const searchDevices = async (q) => (await get('/devices', { q, limit: 20 })).items.map((d) => ({
    id: d.id, label: d.name, detail: d.groups.length ? `in ${d.groups.map((x) => x.name).join(', ')}` : 'in no group',
  }));
  // A rule or directory group's members follow the rule or the directory: the service refuses hand edits, so none are offered.
  const addSlot = h('div');
  const drawAdd = () => rebuild(addSlot, g.directory
    ? h('p', { class: 'muted', id: 'members-follow' }, 'Members follow the directory group ', h('code', {}, g.directory.dn), ' in ', g.directory.name, '.')
    : g.rule ? h('p', { class: 'muted', id: 'members-follow' }, 'Members follow the rule.') : forWriters(ctx, () => picker('add-device-search', 'Add a device', 'Add', searchDevices, (it) => guardedAct({
    title: 'Add this device?', confirmLabel: 'Add',
    intro: h('p', {}, h('strong', {}, it.label), ' comes before devices that hold a seat now, and takes one of their seats.'),
    send: (confirm) => post(`/groups/${enc(g.id)}/devices`, { devices: [it.id], ...(confirm ? { confirm } : {}) }),
  }, `${it.label} added to ${g.name}.`))));
  drawInfo();
  drawAdd();
  await loadMembers();
  fill(el, crumbs(['Groups', '#/groups'], [g.name]), h('h1', { tabindex: '-1' }, g.name),
    forWriters(ctx, () => h('div', { class: 'toolbar' },
      writeButton(ctx, 'Rename', renameFlow, { id: 'rename-group' }),
      writeButton(ctx, 'Delete group', deleteFlow, { id: 'delete-group', class: 'danger' }))),
    err, info,
    ruleEditor?.el ?? null,
    h('h2', {}, 'Devices'),
    addSlot,
    members);
  return liveRefresher(loadMembers, (ev) => ev.all || [...ev.reported, ...ev.changed].some((x) => shownIds.has(x)));
}
