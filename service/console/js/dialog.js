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
