// "No silent destruction" in the console: a change that may make devices
// read-only is first sent without `confirm`. The service then either makes it
// (no device loses its seat) or refuses it with 428 CONFIRMATION_REQUIRED and
// its own count of the impact; the console shows that count in a confirmation
// dialog and sends `confirm: true` only after the admin chose to go ahead.
// Cancelling sends nothing more, so nothing changes.
import { ApiError } from './api.js';
import { h, plural } from './dom.js';
import { confirmDialog } from './dialog.js';

/** "23 devices go read-only" and the rest of what the service counted, as paragraphs. */
export function impactText(impact) {
  const n = impact?.devices ?? 0;
  const sample = impact?.sample ?? [];
  const more = n - sample.length;
  // People losing a user licence (a user product's subscription changed): issue 16.
  const people = impact?.people ?? 0;
  const peopleSample = impact?.peopleSample ?? [];
  return [
    n > 0 || people === 0 ? h('p', { class: 'count', 'data-impact': String(n) }, `${plural(n, 'device goes', 'devices go')} read-only.`) : null,
    sample.length ? h('p', {}, n === 1 ? 'It is ' : 'They are ', sample.map((d, i) => [i ? ', ' : '', h('strong', {}, d.name)]),
      more > 0 ? ` and ${plural(more, 'other', 'others')}` : '', '.') : null,
    impact?.devicesGainingSeat ? h('p', {}, `${plural(impact.devicesGainingSeat, 'device without a seat gets', 'devices without a seat get')} the freed ${impact.devicesGainingSeat === 1 ? 'seat' : 'seats'}.`) : null,
    people > 0 ? h('p', { class: 'count', 'data-impact-people': String(people) }, `${plural(people, 'person loses', 'people lose')} their user licence`,
      peopleSample.length ? [': ', peopleSample.map((u, i) => [i ? ', ' : '', h('strong', {}, u)]), people > peopleSample.length ? ` and ${plural(people - peopleSample.length, 'other', 'others')}` : ''] : '', '.') : null,
    h('p', { class: 'muted' }, 'People can still open and print their documents there, but not edit or save them.'),
  ];
}

/**
 * Runs `send(confirm)` once without confirmation; if the service asks for it,
 * shows its impact and runs `send(true)` only when the admin confirms.
 * Resolves to the service's answer, or null when the admin cancelled.
 * @param {{ send: (confirm: boolean) => Promise<any>, title: string, intro?: Node|Node[], confirmLabel: string }} o
 */
export async function guarded({ send, title, intro, confirmLabel }) {
  try {
    return await send(false);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'CONFIRMATION_REQUIRED') throw e;
    const ok = await confirmDialog({ title, confirmLabel, body: [intro ?? null, ...impactText(e.details?.impact)] });
    if (!ok) return null;
    return send(true);
  }
}
