// Modal dialogs on the native <dialog> element: showModal() makes the rest of
// the page inert and traps Tab inside; Escape cancels. We add what it lacks:
// a chosen first focus, and focus returned to the control that opened it.
import { h } from './dom.js';

let seq = 0;

/**
 * Opens a modal dialog.
 * @param {{ title: string, body: Node[], actions: (close: () => void) => Node[], initialFocus?: () => HTMLElement|null, onClose?: () => void, danger?: boolean }} o
 */
export function openDialog(o) {
  const opener = document.activeElement;
  const id = `dlg-${++seq}`;
  const body = h('div', { class: 'dialog-body', id: `${id}-desc` }, o.body);
  const footer = h('div', { class: 'dialog-actions' });
  const dlg = h('dialog', { class: `dialog${o.danger ? ' danger' : ''}`, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-desc` },
    h('h2', { id: `${id}-title` }, o.title), body, footer);
  const close = () => { if (dlg.open) dlg.close(); };
  footer.append(...o.actions(close));
  dlg.addEventListener('close', () => {
    dlg.remove();
    o.onClose?.();
    // Back to where the admin was; if that control is gone (the view re-rendered), to the main heading.
    if (opener instanceof HTMLElement && opener.isConnected && !opener.hasAttribute('disabled')) opener.focus();
    else document.querySelector('#main h1')?.focus();
  });
  document.body.append(dlg);
  dlg.showModal();
  (o.initialFocus?.() ?? footer.querySelector('button'))?.focus();
  return {
    dialog: dlg, body, footer, close,
    /** Swaps the content, e.g. from the form to the result. */
    replace(nodes, actions) {
      body.replaceChildren(...nodes);
      footer.replaceChildren(...actions(close));
    },
  };
}

/**
 * A confirmation: resolves true when the admin chose `confirmLabel`. Focus
 * starts on Cancel, so a stray Enter does not make the change.
 */
export function confirmDialog({ title, body, confirmLabel, danger = true }) {
  return new Promise((resolve) => {
    let answer = false;
    let cancel;
    openDialog({
      title, body, danger,
      actions: (close) => [
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => { answer = true; close(); } }, confirmLabel),
        cancel = h('button', { type: 'button', onclick: close }, 'Cancel'),
      ],
      initialFocus: () => cancel,
      onClose: () => resolve(answer),
    });
  });
}

/** A one-line error area that screen readers announce when it is filled. */
export function errorArea() {
  return h('p', { class: 'error', role: 'alert' });
}

/**
 * Shows a secret the service returns only once (an admin or enroll token):
 * in a read-only field with a Copy button. It lives only in this dialog; once
 * closed the console keeps no copy, as the service stores only its hash.
 */
export function secretDialog({ title, intro, label, secret, onClose }) {
  const id = `secret-${++seq}`;
  const field = h('input', { id, type: 'text', readonly: true, value: secret, class: 'secret', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': `${id}-note` });
  const status = h('p', { class: 'success', role: 'status', id: `${id}-status` });
  let copyBtn;
  const copy = async () => {
    try {
      // The Clipboard API needs a secure context (https or localhost); elsewhere the text is selected for Ctrl+C.
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(secret);
      status.textContent = 'Copied to the clipboard.';
    } catch {
      field.focus();
      field.select();
      status.textContent = 'The browser did not allow copying: the token is selected, press Ctrl+C (or ⌘C) to copy it.';
    }
  };
  openDialog({
    title,
    body: [
      intro ? h('p', {}, intro) : null,
      h('label', { for: id }, label), field,
      h('p', { class: 'warn-text', id: `${id}-note` }, 'Copy it now: it is shown only this once. The service keeps only a hash of it.'),
      status,
    ],
    actions: (close) => [
      copyBtn = h('button', { type: 'button', class: 'primary', onclick: copy }, 'Copy to clipboard'),
      h('button', { type: 'button', onclick: () => { field.value = ''; close(); } }, 'Done'),
    ],
    initialFocus: () => copyBtn,
    onClose: () => { field.value = ''; onClose?.(); },
  });
}

/**
 * A small form in a dialog: `fields` are the labelled controls, `submit()`
 * does the work and returns true to close (false, or a thrown error shown in
 * the dialog, keeps it open with focus back on the first field). Enter in a
 * field submits, as in any form.
 */
export function formDialog({ title, intro, fields, submitLabel, submit, danger = false }) {
  const id = `form-${++seq}`;
  const err = errorArea();
  const form = h('form', { id, class: 'dialog-form', novalidate: true }, intro ?? null, fields, err);
  let submitBtn;
  const dlg = openDialog({
    title, danger, body: [form],
    actions: (close) => [
      // Outside the form in the DOM, tied to it by `form`: a click or Enter submits it.
      submitBtn = h('button', { type: 'submit', form: id, class: danger ? 'danger' : 'primary' }, submitLabel),
      h('button', { type: 'button', onclick: close }, 'Cancel'),
    ],
    initialFocus: () => form.querySelector('input, select'),
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submitBtn.disabled) return;
    err.textContent = '';
    submitBtn.disabled = true;
    let done = false;
    try { done = await submit(); } catch (e2) { err.textContent = e2.message; }
    submitBtn.disabled = false;
    if (done) dlg.close();
    else if (dlg.dialog.open && err.textContent) form.querySelector('input, select')?.focus();
  });
  return dlg;
}

/**
 * "Rename ...": one Name field holding `current`. An empty name is refused
 * here, an unchanged one closes without a request; otherwise `save(name)`
 * sends it and returns true to close (the service's refusal, thrown, shows
 * in the dialog).
 */
export function renameDialog({ title, inputId, current, noun, intro, save }) {
  const input = h('input', { id: inputId, type: 'text', maxlength: '128', value: current, required: true, autocomplete: 'off' });
  return formDialog({
    title, submitLabel: 'Rename', intro, fields: [h('label', { for: inputId }, 'Name'), input],
    submit: async () => {
      const name = input.value.trim();
      if (!name) throw new Error(`Give the ${noun} a name.`);
      if (name === current) return true;
      return save(name);
    },
  });
}
