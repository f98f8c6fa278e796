// DOM building and formatting helpers. All text goes in through text nodes
// (textContent): data from devices (hostnames, user names, errors) and from
// admins is never parsed as HTML, whatever it contains. h() is the one place
// the console sets attributes, so it also refuses the ones that could run
// code or leave the console (a string handler, style, srcdoc, a URL that is
// not our own), and elements that load or run code: a mistake in a view
// fails loudly instead of becoming an injection point. The page's CSP with
// Trusted Types stands behind this.

import { REASON_CATALOGUE, UNKNOWN_REASON } from './reasons.js';

// Elements the console never builds: they run or load code, or change how URLs resolve.
const REFUSED_TAGS = new Set(['script', 'iframe', 'frame', 'object', 'embed', 'base', 'link', 'meta', 'style', 'template']);
const URL_ATTRS = new Set(['href', 'src', 'srcset', 'action', 'formaction', 'xlink:href', 'poster', 'data', 'ping', 'background', 'cite']);
// Our own places only: an in-page route (#/...) or a path on this service (/..., not //host or /\host).
const OWN_URL = /^(#|\/(?![/\\]))/;

function checkAttr(tag, name, value) {
  const n = name.toLowerCase();
  if (n.startsWith('on') || n === 'style' || n === 'srcdoc') {
    throw new TypeError(`h(): attribute '${name}' on <${tag}> is refused (handlers go in as functions, styles live in console.css)`);
  }
  if (URL_ATTRS.has(n) && !OWN_URL.test(value)) throw new TypeError(`h(): ${name} on <${tag}> must be a console route or a path on this service`);
}

/**
 * Creates an element. attrs: `class`, `on<event>` functions, `dataset`, boolean
 * attributes (true adds, false/null skips), anything else via setAttribute
 * (URL attributes only to our own routes and paths; see checkAttr).
 * Children: nodes, strings (as text), numbers, arrays; null/false skipped.
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  if (REFUSED_TAGS.has(String(tag).toLowerCase())) throw new TypeError(`h(): <${tag}> is refused`);
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else {
      const value = v === true ? '' : String(v);
      checkAttr(tag, k, value);
      el.setAttribute(k, value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A button that changes something. Readers get none at all (the banner at the
 * top says why), so a page never offers them an action the service refuses.
 */
export function writeButton(ctx, label, onclick, attrs = {}) {
  return ctx.canWrite ? h('button', { type: 'button', ...attrs, onclick }, label) : null;
}

/** Content only a global-admin can use (forms, action menus): built for them, left out for readers. */
export function forWriters(ctx, make) {
  return ctx.canWrite ? make() : null;
}

/** A table inside a scrolling wrapper; `columns` are header labels, cells carry them for the narrow card layout. */
export function table(caption, columns, rows, attrs = {}) {
  const body = h('tbody', {}, rows);
  const t = h('table', attrs, h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))), body);
  return { wrap: h('div', { class: 'table-wrap' }, t), table: t, body };
}

/** A row whose cells are labelled with their column (shown as labels in the card layout). */
export function row(columns, cells, attrs = {}) {
  return h('tr', attrs, cells.map((c, i) => i === 0
    ? h('th', { scope: 'row', 'data-label': columns[i] }, c)
    : h('td', { 'data-label': columns[i] }, c)));
}

const nf = new Intl.NumberFormat();
export const num = (n) => nf.format(n);
export const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;

// Every date carries its time zone: admins in different places read the same audit log and term ends.
const dtf = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' });
const df = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZoneName: 'short' });
export const formatDateTime = (t) => dtf.format(t);
/** This browser's zone as the dates show it, e.g. "UTC" or "GMT+1". */
export const zoneName = () => dtf.formatToParts(Date.now()).find((p) => p.type === 'timeZoneName')?.value ?? '';

/** A <time> with a relative text ("3 min ago") and the exact time as tooltip. */
export function ago(iso, now = Date.now()) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const t = Date.parse(iso);
  const s = Math.round((now - t) / 1000);
  let text;
  if (s < 45) text = 'just now';
  else if (s < 3600) text = `${Math.round(s / 60)} min ago`;
  else if (s < 86400) text = `${Math.round(s / 3600)} h ago`;
  else text = `${Math.round(s / 86400)} days ago`;
  return h('time', { datetime: iso, title: dtf.format(t) }, text);
}

export function date(iso, withTime = false) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const t = Date.parse(iso);
  // A date alone still names its zone (a term ending at midnight UTC is the day before in New York); the tooltip has the time.
  return h('time', { datetime: iso, title: dtf.format(t) }, (withTime ? dtf : df).format(t));
}

/** Reason labels by code: the service's catalogue (shared/reasons.ts), served generated as js/reasons.js. */
export const REASONS = Object.freeze(Object.fromEntries(Object.entries(REASON_CATALOGUE).map(([code, r]) => [code, r.label])));

/** The label of any reason code; one this console does not know (a newer agent or service) gets the generic one. */
export function reasonLabel(code) {
  return Object.hasOwn(REASONS, code) ? REASONS[code] : UNKNOWN_REASON.label;
}

/** The licence cell of a device: its seat, or the reason it has none. */
export function licenceCell(d) {
  if (d.licensed) {
    return h('span', { class: 'licence ok' }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
      'Seat: ', d.subscription?.name ?? d.product, d.licenseGroup ? h('span', { class: 'muted' }, ` via ${d.licenseGroup.name}`) : null);
  }
  return h('span', { class: 'licence no' }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
    reasonLabel(d.reason), ' ', h('code', {}, d.reason));
}

/** The last reported mode, and a note when it does not match the entitlement yet. */
export function modeCell(d) {
  const mode = d.lastMode
    ? h('span', { class: `mode mode-${d.lastMode}`, 'data-mode': d.lastMode }, d.lastMode)
    : h('span', { class: 'mode mode-none', 'data-mode': '' }, 'no report');
  const pending = d.lastMode && (d.licensed ? d.lastMode !== 'full' : d.lastMode === 'full');
  return pending ? [mode, h('span', { class: 'pending' }, ' not yet applied')] : mode;
}

/**
 * Whether the device's enforcers hold its mode (its last report): a "not
 * enforced" badge naming the failing ones, "enforcement unknown" for an agent
 * too old to say; nothing when all is well or it never reported.
 */
export function enforcementBadge(d) {
  const e = d.enforcement;
  if (!e || !d.lastMode) return null;
  if (e.ok === false) {
    const why = e.failing.map((f) => `${f.enforcer}: ${f.reason}`).join('; ');
    return [' ', h('span', { class: 'badge not-enforced', 'data-enforced': 'false', title: why }, 'not enforced'),
      h('span', { class: 'visually-hidden' }, ` (${why})`)];
  }
  if (e.ok === null) return [' ', h('span', { class: 'badge enforcement-unknown', 'data-enforced': 'unknown' }, 'enforcement unknown')];
  return null;
}

/** The device page's line about enforcement, in words. */
export function enforcementText(d) {
  const e = d.enforcement;
  if (!e || e.ok === null) return 'unknown (the agent does not report it)';
  if (e.ok) return 'yes: every enforcer holds the mode';
  return `no: ${e.failing.map((f) => `${f.enforcer}: ${f.reason}`).join('; ')}`;
}

/**
 * Saves a Blob the console made or fetched (the CSV export) as a file. The
 * one link the console builds outside h(): its target is a blob: URL of this
 * page's own origin holding our own data, it is never put into the document,
 * and the URL is released soon after the click.
 */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  if (!url.startsWith(`blob:${location.origin}/`)) throw new TypeError('download(): not a blob URL of this origin');
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the browser has read it
}

/** Builds a `#/path?query` link target, dropping empty query values. */
export function href(path, query = {}) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined && v !== null && v !== false));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function debounce(fn, ms) {
  let t = 0;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** Replaces an element's children, keeping focus on the control with the same id if it had it. */
export function rebuild(el, ...children) {
  const focused = el.contains(document.activeElement) ? document.activeElement.id : '';
  fill(el, ...children);
  if (focused) document.getElementById(focused)?.focus();
}

/** True while a modal dialog is open: views hold live refreshes so the dialog's opener stays in place. */
export const dialogOpen = () => !!document.querySelector('dialog[open]');

/** Breadcrumb trail: [label, href] pairs, the last one is the current page. */
export function crumbs(...items) {
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, items.map(([label, link], i) =>
    h('li', {}, i === items.length - 1 ? h('span', { 'aria-current': 'page' }, label) : h('a', { href: link }, label)))));
}

/**
 * Live refresh for a view: when an event is relevant (`wants(ev)` for a
 * `devices` event, `wantsUsers(ev)` for a `users` one), calls reload() once
 * per burst, at most one at a time, and not while a dialog is open (its
 * opener must stay in place); stops when the view goes away.
 */
export function liveRefresher(reload, wants = () => true, delayMs = 300, wantsUsers = () => false) {
  let timer = 0;
  let running = false;
  let again = false;
  let disposed = false;
  const schedule = () => { if (!timer && !disposed) timer = setTimeout(fire, delayMs); };
  async function fire() {
    timer = 0;
    if (disposed) return;
    if (dialogOpen()) { timer = setTimeout(fire, 500); return; }
    if (running) { again = true; return; }
    running = true;
    try { await reload(); } catch { /* the next event tries again */ }
    running = false;
    if (again) { again = false; schedule(); }
  }
  return {
    onDevices: (ev) => { if (wants(ev)) schedule(); },
    onUsers: (ev) => { if (wantsUsers(ev)) schedule(); },
    dispose: () => { disposed = true; clearTimeout(timer); },
  };
}
