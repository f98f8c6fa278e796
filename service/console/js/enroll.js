// Enrollment tokens: what an installer needs to enroll devices (optionally
// straight into a group). A global-admin creates one (shown once, with a Copy
// button; the service keeps only its hash), sees how many uses are left and
// until when, and revokes one that leaked or is no longer needed.
import { get, post, enc } from './api.js';
import { h, fill, rebuild, table, row, date, num, plural, writeButton, forWriters, formatDateTime } from './dom.js';
import { confirmDialog, errorArea, secretDialog } from './dialog.js';
import { combobox } from './widgets.js';

const VALID_FOR = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days'], ['2592000', '30 days'], ['7776000', '90 days']];
const STATUS = { active: 'active', expired: 'expired', 'used-up': 'used up', revoked: 'revoked' };

export async function render(el, _parts, _query, ctx) {
  const list = h('div');
  const err = errorArea();
  const cols = ['Token', 'Enrolls into', 'Uses left', 'Valid until', 'Status', 'Created', ...(ctx.canWrite ? ['Actions'] : [])];

  const load = async () => {
    const tokens = (await get('/enroll-tokens')).items.slice().reverse(); // newest first
    rebuild(list, tokens.length ? table('Enrollment tokens', cols, tokens.map((t) => row(cols, [
      h('code', {}, t.id),
      t.group ? h('a', { href: `#/groups/${enc(t.group.id)}` }, t.group.name) : h('span', { class: 'muted' }, 'no group'),
      num(t.usesLeft), date(t.expiresAt, true),
      h('span', { class: `badge status-${t.status === 'active' ? 'active' : 'suspended'}` }, STATUS[t.status] ?? t.status,
        t.status === 'revoked' && t.revokedBy ? ` by ${t.revokedBy.name}` : ''),
      date(t.createdAt, true),
      ...(ctx.canWrite ? [t.status === 'active'
        ? writeButton(ctx, 'Revoke', () => revoke(t), { class: 'small', id: `revoke-${t.id}`, 'aria-label': `Revoke ${t.id}` })
        : h('span', { class: 'muted' }, '—')] : []),
    ], { 'data-token-id': t.id, 'data-status': t.status })), { class: 'data' }).wrap
      : h('p', { class: 'muted' }, 'No enrollment tokens yet.'));
  };

  async function revoke(shown) {
    // Uses may have been spent since the list was drawn: the dialog says what is left now.
    const t = (await get('/enroll-tokens')).items.find((x) => x.id === shown.id) ?? shown;
    const ok = await confirmDialog({
      title: 'Revoke this enrollment token?', confirmLabel: 'Revoke',
      body: [h('p', {}, 'Revoke ', h('code', {}, t.id), t.group ? [' (enrolls into ', h('strong', {}, t.group.name), ')'] : '', '?'),
        h('p', {}, `It has ${plural(t.usesLeft, 'use', 'uses')} left; from now on it enrolls nothing. Devices it already enrolled are not affected.`)],
    });
    if (!ok) return;
    err.textContent = '';
    try { await post(`/enroll-tokens/${enc(t.id)}/revoke`, {}); } catch (e) { err.textContent = e.message; return; }
    ctx.announce(`Enrollment token ${t.id} revoked.`);
    await load();
    document.querySelector('#main h1')?.focus();
  }

  const createForm = () => {
    const ferr = errorArea();
    let group = null;
    const groupBox = combobox({
      label: 'Enroll devices into group (optional)', placeholder: 'Type a group name', noun: 'groups',
      search: async (q) => (await get('/groups', { q })).items.slice(0, 20).map((g) => ({ id: g.id, label: g.name, detail: g.subscription ? g.subscription.name : 'no licence' })),
      onPick: (it) => { group = it; },
    });
    const uses = h('input', { id: 'new-token-uses', type: 'number', min: '1', max: '100000', value: '1', inputmode: 'numeric', required: true });
    const valid = h('select', { id: 'new-token-valid' }, VALID_FOR.map(([v, label]) => h('option', { value: v, selected: v === '604800' }, label)));
    const form = h('form', { class: 'inline-form', 'aria-labelledby': 'h-new-token' },
      h('h2', { id: 'h-new-token' }, 'New enrollment token'),
      groupBox.el,
      h('div', { class: 'field' }, h('label', { for: 'new-token-uses' }, 'Devices it may enroll'), uses),
      h('div', { class: 'field' }, h('label', { for: 'new-token-valid' }, 'Valid for'), valid),
      h('button', { type: 'submit', class: 'primary' }, 'Create enrollment token'), ferr);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ferr.textContent = '';
      const n = Number(uses.value);
      if (!Number.isInteger(n) || n < 1 || n > 100_000) { ferr.textContent = 'Devices it may enroll: a whole number from 1 to 100,000.'; uses.focus(); return; }
      if (groupBox.input.value.trim() && !group) { ferr.textContent = 'Pick the group from the list, or clear the field.'; groupBox.input.focus(); return; }
      let t;
      try {
        t = await post('/enroll-tokens', { uses: n, expiresInSeconds: Number(valid.value), ...(group ? { group: group.id } : {}) });
      } catch (e2) { ferr.textContent = e2.message; return; }
      groupBox.clear(); group = null;
      await load();
      secretDialog({
        title: 'Enrollment token created', label: 'Enrollment token', secret: t.token,
        intro: `Enrolls up to ${plural(t.usesLeft, 'device', 'devices')}${t.group ? ` into ${t.group.name}` : ''} until ${formatDateTime(Date.parse(t.expiresAt))}. Use it with devlic-agent enroll --token, or in the installer.`,
      });
      ctx.announce('Enrollment token created.');
    });
    return form;
  };

  await load();
  fill(el, h('h1', { tabindex: '-1' }, 'Enrollment tokens'),
    h('p', { class: 'lead' }, 'Tokens that let new devices enroll. Revoke one that leaked or is no longer needed: devices already enrolled keep working.'),
    err, forWriters(ctx, createForm), h('h2', {}, 'Tokens'), list);
  return {};
}
