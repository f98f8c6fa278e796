// Admins: the tokens that may use this console and the admin API. A
// global-admin creates one (the token is shown once, with a Copy button, and
// stored only as a hash) and revokes one (refused at once, open consoles
// included). The service refuses to revoke the last global-admin.
import { get, post, enc } from './api.js';
import { h, fill, rebuild, table, row, date, writeButton, forWriters } from './dom.js';
import { confirmDialog, errorArea, secretDialog } from './dialog.js';

const ROLES = { 'global-admin': 'Global admin (can change everything)', reader: 'Reader (can see everything, change nothing)' };

export async function render(el, _parts, _query, ctx) {
  const list = h('div');
  const err = errorArea();
  const cols = ['Name', 'Role', 'Created', 'Status', ...(ctx.canWrite ? ['Actions'] : [])];

  const load = async () => {
    const admins = (await get('/admins')).items;
    rebuild(list, table('Admin tokens', cols, admins.map((a) => row(cols, [
      [a.name, a.id === ctx.me.id ? h('span', { class: 'muted' }, ' (you)') : null],
      a.role, date(a.createdAt, true),
      a.revokedAt ? h('span', { class: 'badge status-suspended' }, 'revoked ', date(a.revokedAt, true), a.revokedBy ? ` by ${a.revokedBy.name}` : '')
        : h('span', { class: 'badge status-active' }, 'active'),
      ...(ctx.canWrite ? [a.revokedAt ? h('span', { class: 'muted' }, '—')
        : writeButton(ctx, 'Revoke', () => revoke(a), { class: 'small', id: `revoke-${a.id}`, 'aria-label': `Revoke ${a.name}` })] : []),
    ], { 'data-admin-id': a.id, 'data-status': a.revokedAt ? 'revoked' : 'active' })), { class: 'data' }).wrap);
  };

  async function revoke(a) {
    const self = a.id === ctx.me.id;
    const ok = await confirmDialog({
      title: 'Revoke this admin token?', confirmLabel: 'Revoke',
      body: [
        h('p', {}, 'Revoke ', h('strong', {}, a.name), ` (${a.role})?`),
        h('p', {}, self ? 'This is the token you are signed in with: this console signs out at once.'
          : 'The token stops working at once, including consoles signed in with it now. This cannot be undone; create a new token instead.'),
      ],
    });
    if (!ok) return;
    err.textContent = '';
    try {
      await post(`/admins/${enc(a.id)}/revoke`, {});
    } catch (e) { err.textContent = e.message; return; }
    ctx.announce(`${a.name} revoked.`);
    await load();
  }

  const createForm = () => {
    const ferr = errorArea();
    const name = h('input', { id: 'new-admin-name', type: 'text', maxlength: '128', autocomplete: 'off', required: true });
    const role = h('select', { id: 'new-admin-role' }, Object.entries(ROLES).map(([v, label]) => h('option', { value: v, selected: v === 'reader' }, label)));
    const form = h('form', { class: 'inline-form', 'aria-labelledby': 'h-new-admin' },
      h('h2', { id: 'h-new-admin' }, 'New admin token'),
      h('div', { class: 'field' }, h('label', { for: 'new-admin-name' }, 'Name'), name),
      h('div', { class: 'field' }, h('label', { for: 'new-admin-role' }, 'Role'), role),
      h('button', { type: 'submit', class: 'primary' }, 'Create admin token'), ferr);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ferr.textContent = '';
      if (!name.value.trim()) { ferr.textContent = 'Give the token a name, e.g. who will use it.'; name.focus(); return; }
      let a;
      try { a = await post('/admins', { role: role.value, name: name.value.trim() }); } catch (e2) { ferr.textContent = e2.message; return; }
      name.value = '';
      await load();
      secretDialog({
        title: 'Admin token created', label: `Admin token for ${a.name}`, secret: a.token,
        intro: `Give this token to ${a.name} (${a.role}) over a safe channel. They paste it into this console's sign-in or use it with devlic-admin --token.`,
      });
      ctx.announce(`Admin token for ${a.name} created.`);
    });
    return form;
  };

  await load();
  fill(el, h('h1', { tabindex: '-1' }, 'Admins'),
    h('p', { class: 'lead' }, 'Tokens that can sign in to this console and use devlic-admin. Revoke a token that leaked or is no longer needed.'),
    err, forWriters(ctx, createForm), h('h2', {}, 'Admin tokens'), list);
  return {};
}
