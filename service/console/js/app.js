// The console's entry point: sign-in (token checked with GET /whoami, kept in
// sessionStorage), the hash router (#/licences, #/groups, #/user-groups, #/devices, #/audit,
// #/enroll-tokens, #/admins and the detail pages: links, Back and reload all
// work), live updates passed to the current view, and focus moved to the new
// page's heading on every navigation so keyboard and screen-reader users follow.
import { api, session, ApiError } from './api.js';
import { connectLive } from './live.js';
import { h, fill } from './dom.js';
import * as licences from './licences.js';
import * as groups from './groups.js';
import * as userGroups from './user-groups.js';
import * as devices from './devices.js';
import * as audit from './audit.js';
import * as admins from './admins.js';
import * as enrollTokens from './enroll.js';

const $ = (id) => document.getElementById(id);
const SECTIONS = { licences, groups, 'user-groups': userGroups, devices, audit, 'enroll-tokens': enrollTokens, admins };

let ctx = null;       // { me, canWrite, announce, navigate, refresh }
let view = null;      // what the current view returned: { onDevices?, onUsers?, dispose? }
// Live events that arrive while a view renders: its reads may have been
// answered before the change, so they are passed to the view once it is there.
let pending = null;
let eventsSeen = 0;
let live = null;
let renderSeq = 0;

function announce(text) {
  // Cleared first so that the same text twice is announced twice.
  const a = $('announcer');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

function showSignIn(message = '') {
  live?.stop();
  live = null;
  view?.dispose?.();
  view = null;
  ctx = null;
  $('top').hidden = true;
  $('main').hidden = true;
  $('reader-banner').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('token').value = '';
  $('token').focus();
}

async function signIn(token) {
  session.set(token);
  let me;
  try {
    me = await api('GET', '/whoami');
  } catch (e) {
    session.clear();
    const msg = e instanceof ApiError && e.status === 401 ? 'That token is not valid for this service. Check it and try again.' : e.message;
    showSignIn(msg);
    return;
  }
  ctx = { me, canWrite: me.role === 'global-admin', announce, navigate: (hash) => { location.hash = hash; }, refresh: () => render() };
  $('sign-in').hidden = true;
  $('top').hidden = false;
  $('main').hidden = false;
  $('reader-banner').hidden = ctx.canWrite;
  fill($('who'), 'Signed in as ', h('strong', {}, me.name), ` (${me.role})`);
  startLive(token);
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.replace('#/licences');
  await render();
}

function startLive(token) {
  const state = $('live-state');
  const labels = { live: 'Live updates on', reconnecting: 'Reconnecting live updates…', unauthorized: 'Live updates off' };
  live = connectLive({
    token,
    onState: (s) => { state.dataset.state = s; state.textContent = labels[s]; },
    onEvent: (name, data) => {
      // How many arrived, on the status element: what a test (or a person in devtools) can wait for.
      state.dataset.events = String(++eventsSeen);
      if (pending) pending.push([name, data]);
      else deliver(name, data);
    },
  });
}

function deliver(name, data) {
  if (name === 'devices') view?.onDevices?.(data);
  else if (name === 'users') view?.onUsers?.(data);
}

/** Splits `#/devices/dev_1?filter=stale` into ['devices', 'dev_1'] and a query object. */
function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: Object.fromEntries(new URLSearchParams(query)) };
}

async function render() {
  if (!ctx) return;
  const mine = ++renderSeq;
  const { parts, query } = route();
  const section = SECTIONS[parts[0]] ? parts[0] : 'licences';
  for (const a of document.querySelectorAll('nav a[data-section]')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  view?.dispose?.();
  view = null;
  pending = [];
  const main = $('main');
  const target = h('div', { class: 'view' });
  let result;
  try {
    result = await SECTIONS[section].render(target, parts.slice(1), query, ctx);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { if (mine === renderSeq) pending = null; return; }
    fill(target, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message),
      h('p', {}, h('a', { href: '#/licences' }, 'Back to licences')));
  }
  if (mine !== renderSeq) { result?.dispose?.(); return; } // a newer navigation won
  view = result ?? null;
  const missed = pending ?? [];
  pending = null;
  fill(main, target);
  for (const [name, data] of missed) deliver(name, data);
  const h1 = main.querySelector('h1');
  document.title = `${h1?.textContent ?? 'devlic'} · devlic admin`;
  // A new page starts at its heading. Views change filters and pages in place (history.replaceState), keeping focus.
  h1?.focus();
}

window.addEventListener('hashchange', () => render());
window.addEventListener('devlic:unauthenticated', () => {
  session.clear();
  showSignIn('Your session has ended or the token was revoked. Sign in again.');
});

$('sign-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (!token) { $('sign-in-error').textContent = 'Enter an admin token.'; $('token').focus(); return; }
  signIn(token);
});
$('sign-out').addEventListener('click', () => {
  session.clear();
  showSignIn('You are signed out.');
});

if (session.token) signIn(session.token); else showSignIn();
