// Devices: the fleet view Microsoft's admins ask for. Every device with its
// groups, seat or reason, last reported mode, signed-in users, agent version,
// last seen and cache expiry; filters and search run on the server and the
// list is paged, so it stays fast with thousands of devices. Rows refresh in
// place when the devices on screen report or change (server-sent events).
import { get, patch, enc } from './api.js';
import { h, fill, rebuild, table, row, ago, date, licenceCell, modeCell, href, debounce, num, writeButton, liveRefresher, crumbs, REASONS } from './dom.js';
import { confirmDialog, errorArea } from './dialog.js';
import { pager } from './widgets.js';

const PAGE = 50;
const STALE_MINUTES = 15;
const FILTERS = [
  ['all', 'All', {}],
  ['licensed', 'Licensed', { licensed: 'true' }],
  ['read-only', 'Read-only (last report)', { mode: 'read-only' }],
  ['stale', `Not seen for ${STALE_MINUTES} min`, { staleMinutes: STALE_MINUTES }],
  ['exhausted', 'No seat left', { reason: 'SEATS_EXHAUSTED' }],
];
const COLS = ['Device', 'Groups', 'Licence', 'Last reported mode', 'Signed-in users', 'Agent', 'Last seen', 'Cache expires'];

export async function render(el, parts, query, ctx) {
  return parts.length ? renderDevice(el, parts[0], ctx) : renderFleet(el, query, ctx);
}

function deviceRow(d) {
  const stale = !d.lastSeenAt || Date.now() - Date.parse(d.lastSeenAt) > STALE_MINUTES * 60_000;
  return row(COLS, [
    [h('a', { href: `#/devices/${enc(d.id)}`, id: `dev-link-${d.id}` }, d.name),
      d.duplicateOf ? h('span', { class: 'muted' }, ` (possible duplicate of ${d.duplicateOf.name})`) : null],
    d.groups.length ? d.groups.map((g) => g.name).join(', ') : h('span', { class: 'muted' }, 'none'),
    licenceCell(d),
    h('span', { 'data-col': 'mode' }, modeCell(d)),
    d.users.length ? d.users.map((u) => `${u.name} (${u.mode})`).join(', ') : h('span', { class: 'muted' }, 'nobody'),
    d.agentVersion ? h('span', { class: 'nowrap' }, d.agentVersion) : h('span', { class: 'muted' }, '—'),
    h('span', { class: stale ? 'stale nowrap' : 'nowrap' }, ago(d.lastSeenAt)),
    h('span', { class: 'nowrap' }, date(d.cacheExpiresAt)),
  ], { 'data-device-id': d.id });
}

async function renderFleet(el, query, ctx) {
  const state = { filter: FILTERS.some((f) => f[0] === query.filter) ? query.filter : 'all', q: query.q ?? '', offset: Math.max(0, Number(query.offset) || 0) };
  let shown = new Map(); // id -> device as last drawn
  const summary = h('p', { class: 'summary', id: 'fleet-summary' });
  const { wrap, body } = table('Devices', COLS, [], { class: 'data fleet', id: 'fleet' });
  const pagerSlot = h('div');

  const search = h('input', { type: 'search', id: 'fleet-search', value: state.q, autocomplete: 'off', placeholder: 'Name or device id' });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); state.offset = 0; load(); }, 300));
  const filters = h('fieldset', { class: 'chips' }, h('legend', {}, 'Show'), FILTERS.map(([key, label]) => h('label', { class: 'chip' },
    h('input', { type: 'radio', name: 'fleet-filter', value: key, checked: key === state.filter, onchange: () => { state.filter = key; state.offset = 0; load(); } }), label)));

  async function load({ live = false, redraw = false } = {}) {
    const f = FILTERS.find((x) => x[0] === state.filter)[2];
    const r = await get('/devices', { ...f, q: state.q, limit: PAGE, offset: state.offset });
    // The URL keeps filter, search and page (reload and links work) without a navigation that would move focus.
    history.replaceState(null, '', href('/devices', { filter: state.filter === 'all' ? '' : state.filter, q: state.q, offset: state.offset || '' }));
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
        old?.replaceWith(deviceRow(d));
        if (hadFocus) document.getElementById(hadFocus)?.focus();
        if (before?.lastMode !== d.lastMode && d.lastMode) changed.push(`${d.name} reports ${d.lastMode}`);
      }
      if (changed.length) ctx.announce(changed.length > 3 ? `${num(changed.length)} devices changed mode` : `${changed.join('; ')}.`);
    } else {
      rebuild(body, r.items.map(deviceRow));
      if (live && !sameRows) ctx.announce(`Device list updated: ${num(r.total)} devices.`);
    }
    shown = next;
    fill(summary, `${num(r.total)} ${r.total === 1 ? 'device' : 'devices'}`, state.filter !== 'all' ? ` · ${FILTERS.find((x) => x[0] === state.filter)[1]}` : '',
      state.q ? ` · matching “${state.q}”` : '', h('span', { class: 'muted' }, ` · updated ${new Date().toLocaleTimeString()}`));
    rebuild(pagerSlot, pager({ offset: state.offset, limit: PAGE, total: r.total, noun: 'devices', go: (o) => { state.offset = o; load().then(() => document.getElementById('fleet-summary')?.scrollIntoView()); } }));
    if (!r.items.length) rebuild(body, h('tr', {}, h('td', { colspan: COLS.length, class: 'muted' }, 'No devices match.')));
  }

  await load();
  fill(el, h('h1', { tabindex: '-1' }, 'Devices'),
    h('p', { class: 'lead' }, 'Every enrolled device: its seat or why it has none, and what it last reported.'),
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'fleet-search' }, 'Search devices'), search), filters),
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
  const draw = () => rebuild(content,
    h('div', { class: 'toolbar' }, writeButton(ctx, d.disabled ? 'Enable device' : 'Disable device', toggle, { id: 'toggle-device', class: d.disabled ? '' : 'danger' })),
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'h-lic' }, h('h2', { id: 'h-lic' }, 'Licence'), dl([
        ['State', licenceCell(d)], ['Product', d.product], ['Subscription', d.subscription?.name],
        ['Through group', d.licenseGroup ? h('a', { href: `#/groups/${enc(d.licenseGroup.id)}` }, d.licenseGroup.name) : null],
        ['Entitlement number', String(d.entitlementSeq)], d.disabled ? ['Disabled', 'yes: this device gets no licence'] : null,
      ])),
      h('section', { class: 'card', 'aria-labelledby': 'h-rep' }, h('h2', { id: 'h-rep' }, 'Last report'), dl([
        ['Mode', h('span', { 'data-col': 'mode' }, modeCell(d))], ['Reason given', d.lastReason], ['Last seen', ago(d.lastSeenAt)],
        ['Agent version', d.agentVersion], ['Offline cache expires', date(d.cacheExpiresAt, true)], ['Last error', d.lastError],
        ['Signed-in users', d.users.length ? h('ul', { class: 'plain' }, d.users.map((u) => h('li', {}, u.name, ` — ${u.mode}`))) : null],
      ])),
      h('section', { class: 'card', 'aria-labelledby': 'h-hw' }, h('h2', { id: 'h-hw' }, 'Device'), dl([
        ['Device id', h('code', {}, d.id)], ['Host name', d.facts.hostname], ['Model', `${d.facts.manufacturer} ${d.facts.model}`],
        // Readers get short hashes of the hardware identifiers, never the values (they would help impersonate the device).
        [d.facts.redacted ? 'Serial number (hashed)' : 'Serial number', d.facts.serial], ['Operating system', d.facts.os], ['Enrolled', date(d.enrolledAt, true)],
        d.duplicateOf ? ['Possible duplicate of', [h('a', { href: `#/devices/${enc(d.duplicateOf.id)}` }, d.duplicateOf.name),
          ` — same hardware, enrolled without proving it is that device. If it is (a reinstalled machine), a global-admin runs devlic-admin devices merge ${d.id} ${d.duplicateOf.id}`]] : null,
        ['Groups', d.groups.length ? d.groups.map((g, i) => [i ? ', ' : '', h('a', { href: `#/groups/${enc(g.id)}` }, g.name)]) : null],
      ]))),
    h('h2', {}, 'Recent reports'),
    d.reports.length ? reportsTable(d.reports) : h('p', { class: 'muted' }, 'This device has not reported yet.'));

  async function toggle() {
    if (!d.disabled) {
      const ok = await confirmDialog({
        title: 'Disable this device?', confirmLabel: 'Disable',
        body: [h('p', {}, h('strong', {}, d.name), ' loses its licence and goes read-only, and gives its seat back. Enable it again to undo.')],
      });
      if (!ok) return;
    }
    err.textContent = '';
    try {
      await patch(`/devices/${enc(d.id)}`, { disabled: !d.disabled });
      d = await get(`/devices/${enc(id)}`);
    } catch (e) { err.textContent = e.message; return; }
    ctx.announce(d.disabled ? `${d.name} disabled.` : `${d.name} enabled.`);
    draw();
  }

  draw();
  fill(el, crumbs(['Devices', '#/devices'], [d.name]), h('h1', { tabindex: '-1' }, d.name), err, content);
  const live = liveRefresher(async () => {
    const before = d.lastMode;
    d = await get(`/devices/${enc(id)}`);
    draw();
    if (d.lastMode !== before) ctx.announce(`${d.name} reports ${d.lastMode}.`);
  }, (ev) => ev.all || ev.reported.includes(d.id) || ev.changed.includes(d.id));
  return live;
}

function reportsTable(reports) {
  const cols = ['When', 'Mode', 'Reason', 'Signed-in users', 'Agent', 'Error'];
  return table('Recent reports', cols, reports.map((r) => row(cols, [
    date(r.at, true), h('span', { class: `mode mode-${r.mode}` }, r.mode), REASONS[r.reason] ? `${REASONS[r.reason]} (${r.reason})` : r.reason,
    r.users.length ? r.users.map((u) => `${u.name} (${u.mode})`).join(', ') : h('span', { class: 'muted' }, 'nobody'),
    r.agentVersion, r.lastError ?? h('span', { class: 'muted' }, 'none'),
  ])), { class: 'data' }).wrap;
}
