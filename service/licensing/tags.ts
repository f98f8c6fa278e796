// Admin-set device tags, a fact group rules can name (`tags == "lab"`).
// Tagging and untagging recompute the device's rule memberships and seats in
// the same transaction; untagging that takes a seat is guarded like any change.
import { DevlicError } from '../../shared/errors.ts';
import type { Actor, LicensingContext } from './context.ts';
import { resolveRef } from './resolve.ts';
import { syncRuleMembership } from './rule-membership.ts';

/** Tags are short words, stored lower-case (rules compare them ignoring case). */
const TAG = /^[a-z0-9][a-z0-9._:-]{0,63}$/;

export function normalizeTags(tags: string[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim().toLowerCase()))];
  const bad = out.find((t) => !TAG.test(t));
  if (bad !== undefined) {
    throw new DevlicError('VALIDATION_FAILED', `tag '${bad}' is not a tag: 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
  }
  return out;
}

export function tagDevice(ctx: LicensingContext, actor: Actor, ref: string, tags: string[], remove: boolean, confirm = false): Promise<string> {
  const wanted = normalizeTags(tags);
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'device', ref);
    const changed: string[] = [];
    for (const t of wanted) if (remove ? await tx.rules.removeTag(id, t) : await tx.rules.addTag(id, t, ctx.nowIso())) changed.push(t);
    const moved = await syncRuleMembership(tx, ctx.nowIso(), { deviceId: id });
    return {
      result: id, action: remove ? 'device.untag' : 'device.tag', target: id,
      details: { [remove ? 'removed' : 'added']: changed, unchanged: wanted.filter((t) => !changed.includes(t)), ...moved },
      recompute: moved.added + moved.removed > 0,
    };
  }, { confirm });
}
