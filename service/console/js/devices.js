// Devices: the fleet view Microsoft's admins ask for. Every device with its
// groups, seat or reason, last reported mode (with a "not enforced" badge when
// an enforcer on the device cannot hold it), signed-in users, agent version,
// last seen and cache expiry; filters and search run on the server and the
// list is paged, so it stays fast with thousands of devices. Rows refresh in
// place when the devices on screen report or change (server-sent events).
// A global-admin retires a device (its seat goes to the next device in line),
// restores it, deletes a retired one, tags it, and exports the list as CSV.
import { get, getBlob, patch, post, del, enc } from './api.js';
import { h, fill, rebuild, table, row, ago, date, licenceCell, modeCell, enforcementBadge, enforcementText, href, debounce, num, writeButton, liveRefresher, crumbs, REASONS, reasonLabel, download } from './dom.js';
import { confirmDialog, errorArea, openDialog } from './dialog.js';
import { pager, menuButton } from './widgets.js';
import { guarded } from './guard.js';
import { tagsCard } from './device-tags.js';

const PAGE = 50;
const STALE_MINUTES = 15;
const FILTERS = [
  ['all', 'All', {}],
  ['licensed', 'Licensed', { licensed: 'true' }],
  ['read-only', 'Read-only (last report)', { mode: 'read-only' }],
  ['not-enforced', 'Not enforced', { enforced: 'false' }],
  ['stale', `Not seen for ${STALE_MINUTES} min`, { staleMinutes: STALE_MINUTES }],
  ['exhausted', REASONS.SEATS_EXHAUSTED, { reason: 'SEATS_EXHAUSTED' }],
  ['retired', 'Retired', { retired: 'true' }],
];
const COLS = ['Device', 'Groups', 'Licence', 'Last reported mode', 'Signed-in users', 'Agent', 'Last seen', 'Cache expires'];

/** The device actions a global-admin has, by state: retire a device in service; restore or delete a retired one. */
function deviceActions(d, act) {
  return d.retired
    ? [{ label: 'Restore device', run: () => act.restore(d) }, { label: 'Delete device', run: () => act.remove(d) }]
    : [{ label: 'Retire device', run: () => act.retire(d) }];
}

/**
 * Retire / restore / delete, shared by the fleet rows and the device page.
 * `done(d, what)` runs after a change (d is the new state, null once deleted).
 */
function deviceActionsFor(ctx, done, fail) {
  const run = async (fn) => { try { await fn(); } catch (e) { fail(e); } };
  return {
    retire: (d) => run(async () => {
      const r = await guarded({
        title: `Retire ${d.name}?`, confirmLabel: 'Retire',
        intro: h('p', {}, 'A retired device loses its seat at once (the next device in line gets it), and its agent is told to go read-only. It stays listed as retired; restore it to undo.'),
        send: (confirm) => post(`/devices/${enc(d.id)}/retire`, confirm ? { confirm } : {}),
      });
      if (r) { ctx.announce(`${d.name} retired.`); await done(r, 'retired'); }
    }),
    restore: (d) => run(async () => {
      // Guarded too: the device takes its old place in the seat order, which can push out a device that got its seat meanwhile.
      const r = await guarded({
        title: `Restore ${d.name}?`, confirmLabel: 'Restore',
        intro: h('p', {}, `${d.name} takes back its place in the seat order, ahead of devices that enrolled after it.`),
        send: (confirm) => post(`/devices/${enc(d.id)}/restore`, confirm ? { confirm } : {}),
      });
      if (r) { ctx.announce(`${d.name} restored.`); await done(r, 'restored'); }
    }),
    remove: (d) => run(async () => {
      const ok = await confirmDialog({
        title: `Delete ${d.name}?`, confirmLabel: 'Delete device',
        body: [h('p', {}, 'The service forgets this retired device: its record, groups and reports go, and its agent is refused from now on. The audit log keeps what happened. To use the machine again, enroll it anew.')],
      });
      if (!ok) return;
      await del(`/devices/${enc(d.id)}`);
      ctx.announce(`${d.name} deleted.`);
      await done(null, 'deleted');
    }),
  };
}

function showError(title, e) {
  openDialog({ title, body: [h('p', { class: 'error' }, e.message)], actions: (close) => [h('button', { type: 'button', onclick: close }, 'Close')] });
}

export async function render(el, parts, query, ctx) {
  return parts.length ? renderDevice(el, parts[0], ctx) : renderFleet(el, query, ctx);
}

function deviceRow(d, cols, act) {
  const stale = !d.lastSeenAt || Date.now() - Date.parse(d.lastSeenAt) > STALE_MINUTES * 60_000;
  return row(cols, [
    [h('a', { href: `#/devices/${enc(d.id)}`, id: `dev-link-${d.id}` }, d.name),
      d.retired ? [' ', h('span', { class: 'badge status-suspended', 'data-retired': 'true' }, 'retired')] : null,
      d.duplicateOf ? h('span', { class: 'muted' }, ` (possible duplicate of ${d.duplicateOf.name})`) : null],
    d.groups.length ? d.groups.map((g) => g.name).join(', ') : h('span', { class: 'muted' }, 'none'),
    licenceCell(d),
    h('span', { 'data-col': 'mode' }, modeCell(d), enforcementBadge(d)),
    d.users.length ? d.users.map((u) => `${u.name} (${userMode(u)})`).join(', ') : h('span', { class: 'muted' }, 'nobody'),
    d.agentVersion ? h('span', { class: 'nowrap' }, d.agentVersion) : h('span', { class: 'muted' }, '—'),
    h('span', { class: stale ? 'stale nowrap' : 'nowrap' }, ago(d.lastSeenAt)),
    h('span', { class: 'nowrap' }, date(d.cacheExpiresAt)),
    ...(act ? [menuButton(`Actions for ${d.name}`, deviceActions(d, act))] : []),
  ], { 'data-device-id': d.id, 'data-retired': d.retired ? 'true' : 'false' });
}

async function renderFleet(el, query, ctx) {
  const state = {
    filter: FILTERS.some((f) => f[0] === query.filter) ? query.filter : 'all', q: query.q ?? '', offset: Math.max(0, Number(query.offset) || 0),
    // "N devices got no seat" on a subscription links here with its id: only the devices that subscription could not seat.
    subscription: query.filter === 'exhausted' && query.subscription ? query.subscription : '',
  };
  const scopedSub = state.subscription ? await get(`/subscriptions/${enc(state.subscription)}`).catch(() => null) : null;
  if (!scopedSub) state.subscription = '';
  let shown = new Map(); // id -> device as last drawn
  const summary = h('p', { class: 'summary', id: 'fleet-summary' });
  const cols = ctx.canWrite ? [...COLS, 'Actions'] : COLS;
  const { wrap, body } = table('Devices', cols, [], { class: 'data fleet', id: 'fleet' });
  const pagerSlot = h('div');
  const err = errorArea();
  const exportBtn = h('button', { type: 'button', id: 'export-csv', onclick: () => exportCsv() }, 'Export CSV');
  const act = ctx.canWrite ? deviceActionsFor(ctx, async () => { await load({ redraw: true }); document.querySelector('#main h1')?.focus(); },
    (e) => showError("Couldn't change the device", e)) : null;
  const drawRow = (d) => deviceRow(d, cols, act);

  // Where each page reached by Next starts (offset -> the service's cursor): Next asks for the page after the
  // previous one's last device, which costs the same at any depth; a page opened by its URL offset asks by offset.
  const cursors = new Map();
  /** One page of the list; scoped to a subscription, only the devices that subscription could not seat. */
  async function fetchPage(f) {
    // recount: the summary and pager show the total as it is now, not as the first page counted it.
    const from = state.offset > 0 && cursors.has(state.offset) ? { after: cursors.get(state.offset), recount: 'true' } : { offset: state.offset };
    const r = await get('/devices', { ...f, ...scope(), q: state.q, limit: PAGE, ...from });
    if (r.next) cursors.set(state.offset + PAGE, r.next);
    return r;
  }
  const restart = () => { state.offset = 0; cursors.clear(); };

  const scope = () => (state.subscription ? { subscription: state.subscription } : {});

  async function exportCsv() {
    err.textContent = '';
    const f = FILTERS.find((x) => x[0] === state.filter)[2];
    try {
      const blob = await getBlob('/devices.csv', { ...f, ...scope(), q: state.q }, 'text/csv');
      download(blob, `devlic-devices-${new Date().toISOString().slice(0, 10)}.csv`);
      ctx.announce('Device list exported as CSV.');
    } catch (e) { err.textContent = e.message; }
  }

  const search = h('input', { type: 'search', id: 'fleet-search', value: state.q, autocomplete: 'off', placeholder: 'Name or device id' });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); restart(); load(); }, 300));
  const filters = h('fieldset', { class: 'chips' }, h('legend', {}, 'Show'), FILTERS.map(([key, label]) => h('label', { class: 'chip' },
    h('input', { type: 'radio', name: 'fleet-filter', value: key, checked: key === state.filter, onchange: () => { state.filter = key; restart(); load(); } }), label)));

  async function load({ live = false, redraw = false } = {}) {
    const f = FILTERS.find((x) => x[0] === state.filter)[2];
    if (state.filter !== 'exhausted') state.subscription = '';
    const r = await fetchPage(f);
    // The URL keeps filter, search and page (reload and links work) without a navigation that would move focus.
    history.replaceState(null, '', href('/devices', { filter: state.filter === 'all' ? '' : state.filter, subscription: state.subscription, q: state.q, offset: state.offset || '' }));
    const next = new Map(r.items.map((d) => [d.id, d]));
    const sameRows = r.items.length === shown.size && r.items.every((d, i) => [...shown.keys()][i] === d.id);
    if (live && sameRows && !redraw) {
      // Only the rows that changed are replaced: the rest (and focus in them) stay.
      const changed = [];
      for (const d of r.items) {
        const before = shown.get(d.id);
        if (JSON.stringify(before) === JSON.stringify(d)) continue;
        const old = body.querySelector(`tr[data-device-id="${CSS.escape(d.id)}"]`);
        const hadFocus = old?.contains(document.activeElement) ? document.activeElement.id : '';
        old?.replaceWith(drawRow(d));
        if (hadFocus) document.getElementById(hadFocus)?.focus();
        if (before?.lastMode !== d.lastMode && d.lastMode) changed.push(`${d.name} reports ${d.lastMode}`);
      }
      if (changed.length) ctx.announce(changed.length > 3 ? `${num(changed.length)} devices changed mode` : `${changed.join('; ')}.`);
    } else {
      rebuild(body, r.items.map(drawRow));
      if (live && !sameRows) ctx.announce(`Device list updated: ${num(r.total)} devices.`);
    }
    shown = next;
    fill(summary, `${num(r.total)} ${r.total === 1 ? 'device' : 'devices'}`, state.filter !== 'all' ? ` · ${FILTERS.find((x) => x[0] === state.filter)[1]}` : '',
      state.subscription ? [` in ${scopedSub.name} `, h('a', { href: href('/devices', { filter: 'exhausted' }), id: 'unscope' }, '(show every device without a seat)')] : '',
      state.q ? ` · matching “${state.q}”` : '', h('span', { class: 'muted' }, ` · updated ${new Date().toLocaleTimeString()}`));
    rebuild(pagerSlot, pager({ offset: state.offset, limit: PAGE, total: r.total, asOf: r.totalAsOf, next: r.next, noun: 'devices', go: (o) => { state.offset = o; load().then(() => document.getElementById('fleet-summary')?.scrollIntoView()); } }));
    if (!r.items.length) rebuild(body, h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'No devices match.')));
  }

  await load();
  fill(el, h('h1', { tabindex: '-1' }, 'Devices'),
    h('p', { class: 'lead' }, 'Every enrolled device: its seat or why it has none, and what it last reported.'),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'fleet-search' }, 'Search devices'), search), filters),
    h('div', { class: 'toolbar' }, exportBtn), err,
    summary, wrap, pagerSlot);

  // Filtered lists can gain or lose rows on any change; the full list only when a shown row changed.
  const wants = (ev) => ev.all || state.filter !== 'all' || [...ev.reported, ...ev.changed].some((id) => shown.has(id));
  const live = liveRefresher(() => load({ live: true }), wants);
  // "Last seen" and "stale" move with the clock, not only with events: redraw every row once a minute.
  const clock = liveRefresher(() => load({ live: true, redraw: true }), () => true, 0);
  const tick = setInterval(() => clock.onDevices({}), 60_000);
  return { onDevices: live.onDevices, dispose: () => { live.dispose(); clock.dispose(); clearInterval(tick); } };
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? h('span', { class: 'muted' }, '—'))]));
}

async function renderDevice(el, id, ctx) {
  let d = await get(`/devices/${enc(id)}`);
  const content = h('div');
  const err = errorArea();
  const act = deviceActionsFor(ctx, async (next, what) => {
    if (what === 'deleted') { ctx.navigate('#/devices'); return; }
    d = await get(`/devices/${enc(id)}`);
    draw();
    document.getElementById(what === 'retired' ? 'restore-device' : 'retire-device')?.focus();
  }, (e) => { err.textContent = e.message; });
  const draw = () => rebuild(content,
    d.retired ? h('p', { class: 'warning', id: 'retired-note' }, h('strong', {}, 'Retired'), ' ', date(d.retired.at, true), ` by ${d.retired.by.name}`,
      d.retired.reason === 'stale' ? ' (not seen for longer than the service allows)' : '', '. It holds no seat and its agent runs read-only.') : null,
    h('div', { class: 'toolbar' },
      d.retired ? [writeButton(ctx, 'Restore device', () => act.restore(d), { id: 'restore-device', class: 'primary' }),
        writeButton(ctx, 'Delete device', () => act.remove(d), { id: 'delete-device', class: 'danger' })]
        : writeButton(ctx, 'Retire device', () => act.retire(d), { id: 'retire-device', class: 'danger' }),
      d.retired ? null : writeButton(ctx, d.disabled ? 'Enable device' : 'Disable device', toggle, { id: 'toggle-device' })),
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'h-lic' }, h('h2', { id: 'h-lic' }, 'Licence'), dl([
        ['State', licenceCell(d)], ['Product', d.product], ['Subscription', d.subscription?.name],
        ['Through group', d.licenseGroup ? h('a', { href: `#/groups/${enc(d.licenseGroup.id)}` }, d.licenseGroup.name) : null],
        ['Entitlement number', String(d.entitlementSeq)], d.disabled ? ['Disabled', 'yes: this device gets no licence'] : null,
      ])),
      h('section', { class: 'card', 'aria-labelledby': 'h-rep' }, h('h2', { id: 'h-rep' }, 'Last report'), dl([
        ['Mode', h('span', { 'data-col': 'mode' }, modeCell(d), enforcementBadge(d))], ['Enforced', h('span', { id: 'enforced' }, enforcementText(d))], ['Reason given', d.lastReason], ['Last seen', ago(d.lastSeenAt)],
        ['Agent version', d.agentVersion], ['Offline cache expires', date(d.cacheExpiresAt, true)], ['Last error', d.lastError],
        ['Signed-in users', d.users.length ? h('ul', { class: 'plain' }, d.users.map((u) => h('li', {}, u.name, u.person ? ` (${u.person})` : '', ` — ${userMode(u)}`))) : null],
      ])),
      h('section', { class: 'card', 'aria-labelledby': 'h-hw' }, h('h2', { id: 'h-hw' }, 'Device'), dl([
        ['Device id', h('code', {}, d.id)], ['Host name', d.facts.hostname], ['Model', `${d.facts.manufacturer} ${d.facts.model}`],
        // Readers get short hashes of the hardware identifiers, never the values (they would help impersonate the device).
        [d.facts.redacted ? 'Serial number (hashed)' : 'Serial number', d.facts.serial], ['Operating system', d.facts.os], ['OS version', d.osVersion],
        ['Enrolled', date(d.enrolledAt, true)],
        d.duplicateOf ? ['Possible duplicate of', [h('a', { href: `#/devices/${enc(d.duplicateOf.id)}` }, d.duplicateOf.name),
          ` — same hardware, enrolled without proving it is that device. If it is (a reinstalled machine), a global-admin runs devlic-admin devices merge ${d.id} ${d.duplicateOf.id}`]] : null,
        ['Groups', d.groups.length ? d.groups.map((g, i) => [i ? ', ' : '', h('a', { href: `#/groups/${enc(g.id)}` }, g.name)]) : null],
      ]))),
    h('h2', {}, 'Recent reports'),
    d.reports.length ? reportsTable(d.reports) : h('p', { class: 'muted' }, 'This device has not reported yet.'));

  async function toggle() {
    err.textContent = '';
    try {
      const r = await guarded({
        title: 'Disable this device?', confirmLabel: 'Disable',
        intro: h('p', {}, h('strong', {}, d.name), ' loses its licence and gives its seat back. Enable it again to undo.'),
        send: (confirm) => patch(`/devices/${enc(d.id)}`, { disabled: !d.disabled, ...(confirm ? { confirm } : {}) }),
      });
      if (!r) return;
      d = await get(`/devices/${enc(id)}`);
    } catch (e) { err.textContent = e.message; return; }
    ctx.announce(d.disabled ? `${d.name} disabled.` : `${d.name} enabled.`);
    draw();
  }

  // Outside `content`: a live redraw must not wipe a tag being typed.
  const tags = tagsCard(ctx, () => d, async () => { d = await get(`/devices/${enc(id)}`); draw(); tags.draw(); });
  draw();
  fill(el, crumbs(['Devices', '#/devices'], [d.name]), h('h1', { tabindex: '-1' }, d.name), err, content, tags.el);
  const live = liveRefresher(async () => {
    const before = d.lastMode;
    d = await get(`/devices/${enc(id)}`);
    draw();
    tags.draw();
    if (d.lastMode !== before) ctx.announce(`${d.name} reports ${d.lastMode}.`);
  }, (ev) => ev.all || ev.reported.includes(d.id) || ev.changed.includes(d.id));
  return live;
}

function reportsTable(reports) {
  const cols = ['When', 'Mode', 'Reason', 'Signed-in users', 'Agent', 'Error'];
  return table('Recent reports', cols, reports.map((r) => row(cols, [
    date(r.at, true), h('span', { class: `mode mode-${r.mode}` }, r.mode), `${reasonLabel(r.reason)} (${r.reason})`,
    r.users.length ? r.users.map((u) => `${u.name} (${userMode(u)})`).join(', ') : h('span', { class: 'muted' }, 'nobody'),
    r.agentVersion, r.lastError ?? h('span', { class: 'muted' }, 'none'),
  ])), { class: 'data' }).wrap;
}

/** "full, user licence": a person's mode and, from agents that report it (issue 16), which licence gave it. */
function userMode(u) {
  return u.licence ? `${u.mode}, ${u.licence} licence` : u.mode;
}
