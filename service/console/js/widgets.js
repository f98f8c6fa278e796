// Keyboard-usable widgets the console needs more than once: a search-as-you-
// type combobox (ARIA 1.2 pattern: list of options under a text box), a
// "…" actions menu button, and a pager for server-side paging.
import { h, num } from './dom.js';

let seq = 0;

/**
 * @param {{ label: string, placeholder?: string, search: (q: string) => Promise<{id: string, label: string, detail?: string}[]>,
 *           onPick: (item: object|null) => void, noun?: string }} o
 */
export function combobox(o) {
  const id = o.id ?? `cb-${++seq}`;
  const input = h('input', {
    id, type: 'text', role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': `${id}-list`,
    autocomplete: 'off', spellcheck: 'false', placeholder: o.placeholder ?? '',
  });
  const list = h('ul', { id: `${id}-list`, role: 'listbox', class: 'listbox', 'aria-label': o.label, hidden: true });
  const status = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  let items = [];
  let active = -1;
  let asked = 0;
  let timer = 0;

  const setOpen = (open) => { list.hidden = !open; input.setAttribute('aria-expanded', String(open)); };
  const setActive = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0 && list.children[i]) {
      input.setAttribute('aria-activedescendant', list.children[i].id);
      list.children[i].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };
  const pick = (i) => {
    const item = items[i];
    if (!item) return;
    // A search still pending or in flight must not reopen the list over the choice.
    clearTimeout(timer);
    asked++;
    input.value = item.label;
    setOpen(false);
    setActive(-1);
    o.onPick(item);
  };
  const run = () => { clearTimeout(timer); timer = setTimeout(search, 150); };
  async function search() {
    const q = input.value.trim();
    const mine = ++asked;
    let found;
    try { found = await o.search(q); } catch (e) { status.textContent = e.message; return; }
    if (mine !== asked) return; // an older answer arriving late must not replace a newer one
    items = found;
    list.replaceChildren(...(items.length ? items.map((it, i) => h('li', {
      id: `${id}-opt-${i}`, role: 'option', 'aria-selected': 'false', class: it.warn ? 'warn' : '',
      onmousedown: (e) => e.preventDefault(), onclick: () => pick(i),
    }, h('span', { class: 'opt-label' }, it.label), it.detail ? h('span', { class: 'opt-detail' }, it.detail) : null))
      : [h('li', { class: 'empty', 'aria-disabled': 'true' }, `No ${o.noun ?? 'matches'} match “${q}”`)]));
    status.textContent = items.length ? `${num(items.length)} ${o.noun ?? 'results'} found; use the arrow keys to choose` : `No ${o.noun ?? 'matches'} found`;
    setOpen(true);
    setActive(-1);
  }

  input.addEventListener('input', () => { o.onPick(null); run(); });
  input.addEventListener('focus', () => { if (!input.value) run(); });
  input.addEventListener('blur', () => setTimeout(() => setOpen(false), 100));
  input.addEventListener('keydown', (e) => {
    const open = !list.hidden && items.length > 0;
    if (e.key === 'ArrowDown') { e.preventDefault(); if (!open) run(); else setActive(Math.min(items.length - 1, active + 1)); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); if (open) setActive(Math.max(0, active - 1)); }
    else if (e.key === 'Enter' && open && active >= 0) { e.preventDefault(); pick(active); }
    else if (e.key === 'Escape' && !list.hidden) {
      // Close the list only; without this the surrounding dialog would close too.
      e.preventDefault(); e.stopPropagation(); setOpen(false);
    }
  });

  const el = h('div', { class: 'combobox' }, h('label', { for: id }, o.label), input, list, status);
  return { el, input, clear() { input.value = ''; items = []; setOpen(false); } };
}

/** A "…" button opening a small menu of actions (ARIA menu button pattern). */
export function menuButton(label, actions, guard) {
  const id = `mb-${++seq}`;
  const button = h('button', { type: 'button', class: 'icon-button', id, 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': `${id}-menu`, 'aria-label': label, title: label }, '…');
  const menu = h('ul', { role: 'menu', id: `${id}-menu`, class: 'menu', 'aria-labelledby': id, hidden: true });
  const items = actions.map((a) => h('li', { role: 'menuitem', tabindex: '-1', onclick: () => { close(false); a.run(); } }, a.label));
  menu.append(...items);
  const open = () => { menu.hidden = false; button.setAttribute('aria-expanded', 'true'); items[0]?.focus(); };
  function close(focusButton = true) {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (focusButton) button.focus();
  }
  button.addEventListener('click', () => (menu.hidden ? open() : close()));
  button.addEventListener('keydown', (e) => { if (e.key === 'ArrowDown') { e.preventDefault(); open(); } });
  menu.addEventListener('keydown', (e) => {
    const i = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    else if (e.key === 'Escape') { e.preventDefault(); close(); }
    else if (e.key === 'Tab') close(false);
    else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); document.activeElement?.click(); }
  });
  menu.addEventListener('focusout', (e) => { if (!menu.contains(e.relatedTarget) && e.relatedTarget !== button) close(false); });
  guard?.(button);
  return h('div', { class: 'menu-wrap' }, button, menu);
}

/**
 * "1–50 of 2,341" with Previous / Next; calls go(offset). A device list page
 * reached by cursor repeats the total its walk's first page counted: `asOf`
 * (the service's totalAsOf) shows when, and `next` (the page's cursor, null
 * on the last page) rather than that total says whether there is a Next.
 */
export function pager({ offset, limit, total, noun, go, asOf = null, next }) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(total, offset + limit);
  const when = asOf ? ` (total as counted at ${new Date(asOf).toLocaleTimeString()})` : '';
  return h('nav', { class: 'pager', 'aria-label': `${noun} pages` },
    h('span', { class: 'pager-text' }, total ? `${num(from)}–${num(to)} of ${num(total)} ${noun}${when}` : `No ${noun}`),
    h('button', { type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, 'Previous'),
    h('button', { type: 'button', disabled: next === undefined ? to >= total : !next, onclick: () => go(offset + limit) }, 'Next'));
}
