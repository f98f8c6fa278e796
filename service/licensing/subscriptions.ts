// Subscription changes: buying seats of a product, changing seats, term or
// status. Each is one audited transaction (LicensingContext.mutate).
import { DevlicError } from '../../shared/errors.ts';
import type { CreateSubscriptionBody, UpdateSubscriptionBody } from '../../shared/schemas/subscriptions.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { resolveRef } from './resolve.ts';
import type { Aggregates } from '../store/store.ts';

async function uniqueName(tx: Aggregates, base: string): Promise<string> {
  const taken = new Set((await tx.subscriptions.namesStartingWith(base)).map((n) => n.toLowerCase()));
  if (!taken.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} #${i}`.toLowerCase())) return `${base} #${i}`;
}

export function createSubscription(ctx: LicensingContext, actor: Actor, body: CreateSubscriptionBody): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const product = await tx.catalogue.byRef(body.product);
    if (!product) {
      throw new DevlicError('NOT_FOUND', `unknown product '${body.product}'; known SKUs: ${(await tx.catalogue.skus()).join(', ')}`);
    }
    if (body.termEnd && Date.parse(body.termEnd) <= ctx.now()) {
      throw new DevlicError('VALIDATION_FAILED', `term end ${body.termEnd} is in the past`);
    }
    let name = body.name;
    if (name) {
      if (await tx.subscriptions.nameTaken(name)) throw new DevlicError('NAME_TAKEN', `a subscription named '${name}' already exists`);
    } else {
      name = await uniqueName(tx, product.name);
    }
    const id = newId('sub');
    await tx.subscriptions.insert({
      id, name, productSku: product.sku, seats: body.seats, termEnd: body.termEnd ? new Date(body.termEnd).toISOString() : null,
      createdAt: ctx.nowIso(), ord: await tx.subscriptions.nextOrd(),
    });
    return { result: id, action: 'subscription.create', target: id, details: { name, product: product.sku, seats: body.seats, termEnd: body.termEnd ?? null },
      // A new subscription is assigned to no group yet.
      recompute: false };
  });
}

export function updateSubscription(ctx: LicensingContext, actor: Actor, ref: string, body: UpdateSubscriptionBody): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const id = await resolveRef(tx, 'subscription', ref);
    const before = (await tx.subscriptions.get(id))!;
    const name = body.name ?? before.name;
    if (body.name !== undefined && await tx.subscriptions.nameTaken(body.name, id)) {
      throw new DevlicError('NAME_TAKEN', `a subscription named '${body.name}' already exists`);
    }
    const seats = body.seats ?? before.seats;
    const termEnd = body.termEnd === undefined ? before.term_end : body.termEnd === null ? null : new Date(body.termEnd).toISOString();
    const suspended = body.status === undefined ? before.suspended : body.status === 'suspended' ? 1 : 0;
    await tx.subscriptions.update(id, { name, seats, termEnd, suspended });
    return {
      result: id, action: 'subscription.update', target: id,
      details: {
        before: { name: before.name, seats: before.seats, termEnd: before.term_end, suspended: !!before.suspended },
        after: { name, seats, termEnd, suspended: !!suspended },
      },
      // Only a rename moves no seat.
      recompute: !(Object.keys(body).every((k) => k === 'name' || k === 'confirm')),
    };
  }, { confirm: body.confirm === true });
}
