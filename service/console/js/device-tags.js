// A device's admin-set tags on its page: listed for everyone, added and
// removed by a global-admin. Tags are a fact group rules name (tags ==
// "lab"), so a change can move the device into or out of a rule group and
// its seat: both go through the confirm guard with the service's count.
import { post, enc } from './api.js';
import { h, rebuild, forWriters } from './dom.js';
import { errorArea } from './dialog.js';
import { guarded } from './guard.js';

/**
 * The Tags card. `device()` gives the device as last loaded; `changed()` reloads
 * it (and the page). Returns the card and `draw()` to redraw the list only,
 * so a live refresh does not wipe what the admin is typing.
 */
export function tagsCard(ctx, device, changed) {
  const list = h('div');
  const err = errorArea();
  const send = async (tags, remove) => {
    err.textContent = '';
    const d = device();
    try {
      const r = await guarded({
        title: remove ? 'Remove this tag?' : 'Add these tags?', confirmLabel: remove ? 'Remove tag' : 'Add tags',
        intro: h('p', {}, 'A rule group that names ', remove ? 'this tag lets ' : 'these tags takes ', h('strong', {}, d.name), remove ? ' go.' : ' in.'),
        send: (confirm) => post(`/devices/${enc(d.id)}/tags${remove ? '/remove' : ''}`, { tags, ...(confirm ? { confirm } : {}) }),
      });
      if (!r) return false;
      await changed();
      ctx.announce(remove ? `Tag ${tags[0]} removed from ${d.name}.` : `${d.name} tagged ${tags.join(', ')}.`);
      return true;
    } catch (e) { err.textContent = e.message; return false; }
  };
  const draw = () => {
    const d = device();
    rebuild(list, d.tags.length ? h('ul', { class: 'plain', id: 'device-tags' }, d.tags.map((t) => h('li', {}, h('code', {}, t), ' ',
      forWriters(ctx, () => h('button', { type: 'button', class: 'small', 'aria-label': `Remove tag ${t}`, onclick: () => send([t], true) }, 'Remove')))))
      : h('p', { class: 'muted', id: 'device-tags' }, 'No tags.'));
  };
  const form = forWriters(ctx, () => {
    const input = h('input', { id: 'add-tags', type: 'text', maxlength: '650', autocomplete: 'off', spellcheck: 'false' });
    const f = h('form', { class: 'inline-form' },
      h('div', { class: 'field' }, h('label', { for: 'add-tags' }, 'Add tags (separated by spaces or commas)'), input),
      h('button', { type: 'submit' }, 'Add tags'));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tags = input.value.split(/[\s,]+/).filter(Boolean);
      if (!tags.length) { err.textContent = 'Type a tag, e.g. lab or floor-2.'; input.focus(); return; }
      if (await send(tags, false)) input.value = '';
      input.focus();
    });
    return f;
  });
  draw();
  const el = h('section', { class: 'card', 'aria-labelledby': 'h-tags' }, h('h2', { id: 'h-tags' }, 'Tags'),
    h('p', { class: 'muted' }, 'Set by admins; group rules can name them (tags == "lab").'), list, form, err);
  return { el, draw };
}
