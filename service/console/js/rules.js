// The rule field of the group forms (New group, a group's Rule section): as
// the admin types, the service's own parser and the current fleet answer
// "This rule matches 37 devices" or the parse error with its column
// (POST /groups/preview, which changes nothing). Only the latest answer is
// shown, so a slow early answer cannot overwrite a later one.
import { post } from './api.js';
import { h, plural } from './dom.js';

/** A rule input and the live line under it; `id` names the input, `label` its label text. */
export function ruleField({ id, label, value = '' }) {
  const input = h('input', { id, type: 'text', maxlength: '2000', autocomplete: 'off', spellcheck: 'false', value, 'aria-describedby': `${id}-preview` });
  const preview = h('p', { id: `${id}-preview`, class: 'muted', 'aria-live': 'polite' });
  let timer = 0;
  let asked = 0;
  const update = async () => {
    const text = input.value.trim();
    const mine = ++asked;
    if (!text) { preview.textContent = ''; return; }
    try {
      const p = await post('/groups/preview', { rule: text });
      if (mine === asked) preview.textContent = `This rule matches ${plural(p.matches, 'device', 'devices')} (of ${p.of} in service).`;
    } catch (e) { if (mine === asked) preview.textContent = e.message; }
  };
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(update, 300); });
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), input, preview);
  return { el, input, value: () => input.value.trim(), set: (v) => { input.value = v; preview.textContent = ''; } };
}
