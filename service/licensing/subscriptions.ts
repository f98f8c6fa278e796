// Subscription changes: buying seats of a product, changing seats, term or
// status. Each is one audited transaction (LicensingContext.mutate).
import { DevlicError } from '../../shared/errors.ts';
import type { CreateSubscriptionBody, UpdateSubscriptionBody } from '../../shared/schemas/admin.ts';
import { type Actor, type LicensingContext, newId } from './context.ts';
import { resolveRef } from './resolve.ts';

function uniqueName(ctx: LicensingContext, base: string): string {
  const taken = new Set((ctx.db.prepare('SELECT name FROM subscriptions WHERE name LIKE ?').all(`${base}%`) as { name: string }[])
    .map((r) => r.name.toLowerCase()));
  if (!taken.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} #${i}`.toLowerCase())) return `${base} #${i}`;
}

export function createSubscription(ctx: LicensingContext, actor: Actor, body: CreateSubscriptionBody): string {
  return ctx.mutate(actor, () => {
    const product = ctx.db.prepare('SELECT sku, name FROM products WHERE sku = ? OR name = ? COLLATE NOCASE').get(body.product, body.product) as any;
    if (!product) {
      const skus = (ctx.db.prepare('SELECT sku FROM products ORDER BY sku').all() as any[]).map((p) => p.sku).join(', ');
      throw new DevlicError('NOT_FOUND', `unknown product '${body.product}'; known SKUs: ${skus}`);
    }
    if (body.termEnd && Date.parse(body.termEnd) <= ctx.now()) {
      throw new DevlicError('VALIDATION_FAILED', `term end ${body.termEnd} is in the past`);
    }
    let name = body.name;
    if (name) {
      if (ctx.db.prepare('SELECT 1 FROM subscriptions WHERE name = ? COLLATE NOCASE').get(name)) {
        throw new DevlicError('NAME_TAKEN', `a subscription named '${name}' already exists`);
      }
    } else {
      name = uniqueName(ctx, product.name);
    }
    const id = newId('sub');
    const ord = ((ctx.db.prepare('SELECT COALESCE(MAX(ord), 0) AS m FROM subscriptions').get() as any).m as number) + 1;
    ctx.db.prepare('INSERT INTO subscriptions (id, name, product_sku, seats, term_end, suspended, created_at, ord) VALUES (?, ?, ?, ?, ?, 0, ?, ?)')
      .run(id, name, product.sku, body.seats, body.termEnd ? new Date(body.termEnd).toISOString() : null, ctx.nowIso(), ord);
    return { result: id, action: 'subscription.create', target: id, details: { name, product: product.sku, seats: body.seats, termEnd: body.termEnd ?? null },
      // A new subscription is assigned to no group yet.
      recompute: false };
  });
}

export function updateSubscription(ctx: LicensingContext, actor: Actor, ref: string, body: UpdateSubscriptionBody): string {
  return ctx.mutate(actor, () => {
    const id = resolveRef(ctx.db, 'subscription', ref);
    const before = ctx.db.prepare('SELECT name, seats, term_end, suspended FROM subscriptions WHERE id = ?').get(id) as any;
    const name = body.name ?? before.name;
    if (body.name !== undefined && ctx.db.prepare('SELECT 1 FROM subscriptions WHERE name = ? COLLATE NOCASE AND id <> ?').get(body.name, id)) {
      throw new DevlicError('NAME_TAKEN', `a subscription named '${body.name}' already exists`);
    }
    const seats = body.seats ?? before.seats;
    const termEnd = body.termEnd === undefined ? before.term_end : body.termEnd === null ? null : new Date(body.termEnd).toISOString();
    const suspended = body.status === undefined ? before.suspended : body.status === 'suspended' ? 1 : 0;
    ctx.db.prepare('UPDATE subscriptions SET name = ?, seats = ?, term_end = ?, suspended = ? WHERE id = ?').run(name, seats, termEnd, suspended, id);
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
