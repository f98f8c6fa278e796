// Who may talk to the service: admin tokens (roles global-admin and reader)
// and enrollment tokens for devices. Secrets are shown once and stored hashed.
// Both can be revoked: a revoked admin token is refused from its next request
// on, a revoked enrollment token enrolls nothing; both stay listed.
import { DevlicError } from '../../shared/errors.ts';
import type { Role } from '../../shared/schemas/admin.ts';
import type { CreateEnrollTokenBody } from '../../shared/schemas/enroll-tokens.ts';
import type { Aggregates } from '../store/store.ts';
import type { AdminRef } from '../store/queries/access.ts';
import { type Actor, type LicensingContext, hashSecret, newId, newSecret } from './context.ts';
import { resolveRef } from './resolve.ts';

export function createAdmin(ctx: LicensingContext, actor: Actor, role: Role, name?: string): Promise<{ id: string; token: string }> {
  return ctx.mutate(actor, async (tx) => {
    const id = newId('adm');
    const token = newSecret('dla');
    await tx.access.insertAdmin({ id, name: name ?? `${role} ${id.slice(-6)}`, role, tokenHash: hashSecret(token), createdAt: ctx.nowIso() });
    return { result: { id, token }, action: 'admin.create', target: id, details: { role, name: name ?? null }, recompute: false };
  });
}

/** Creates the first global admin on an empty database; returns null when admins exist. */
export async function bootstrapAdmin(ctx: LicensingContext): Promise<{ id: string; token: string } | null> {
  if (await ctx.store.access.adminCount() > 0) return null;
  return createAdmin(ctx, { id: 'system', name: 'bootstrap', role: 'global-admin' }, 'global-admin', 'bootstrap admin');
}

export async function authenticateAdmin(ctx: LicensingContext, token: string): Promise<Actor | null> {
  return (await ctx.store.access.adminByTokenHash(hashSecret(token))) as Actor | undefined ?? null;
}

/** An admin by id, else by a unique name. */
async function resolveAdmin(q: Aggregates, ref: string): Promise<AdminRef> {
  const byId = await q.access.adminById(ref);
  if (byId) return byId;
  const byName = await q.access.adminsNamed(ref, 3);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) throw new DevlicError('AMBIGUOUS_NAME', `more than one admin is named '${ref}' (${byName.map((r) => r.id).join(', ')}); use the id`);
  throw new DevlicError('NOT_FOUND', `no admin with id or name '${ref}'`);
}

/**
 * Revokes an admin token. The last global-admin in service is never revoked
 * (not even by itself): the service would be left with nobody able to change
 * anything. The caller closes the admin's open event streams after commit.
 */
export function revokeAdmin(ctx: LicensingContext, actor: Actor, ref: string): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const a = await resolveAdmin(tx, ref);
    if (a.revoked_at) throw new DevlicError('CONFLICT', `admin '${a.name}' (${a.id}) was already revoked at ${a.revoked_at}`);
    if (a.role === 'global-admin' && await tx.access.activeGlobalAdmins() <= 1) {
      throw new DevlicError('LAST_GLOBAL_ADMIN', `'${a.name}' (${a.id}) is the last global-admin; create another one first (devlic-admin admins create --role global-admin)`,
        { admin: a.id });
    }
    await tx.access.revokeAdmin(a.id, ctx.nowIso(), actor);
    // Its open event streams close on every replica (requests are checked against the database each time).
    tx.changed([a.id], 'admin-access');
    return { result: a.id, action: 'admin.revoke', target: a.id, details: { name: a.name, role: a.role, self: a.id === actor.id }, recompute: false };
  });
}

export function revokeEnrollToken(ctx: LicensingContext, actor: Actor, id: string): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    const t = await tx.access.enrollTokenById(id);
    if (!t) throw new DevlicError('NOT_FOUND', `no enrollment token with id '${id}' ('devlic-admin enroll-tokens list' shows them)`);
    if (t.revoked_at) throw new DevlicError('CONFLICT', `enrollment token ${id} was already revoked at ${t.revoked_at}`);
    await tx.access.revokeEnrollToken(id, ctx.nowIso(), actor);
    return { result: id, action: 'enroll-token.revoke', target: id, details: { usesLeft: t.uses_left, expiresAt: t.expires_at }, recompute: false };
  });
}

export function createEnrollToken(ctx: LicensingContext, actor: Actor, body: CreateEnrollTokenBody): Promise<{ id: string; token: string }> {
  return ctx.mutate(actor, async (tx) => {
    const group = body.group ? await resolveRef(tx, 'group', body.group) : null;
    const id = newId('enr');
    const token = newSecret('dle');
    const expiresAt = new Date(ctx.now() + (body.expiresInSeconds ?? 7 * 86400) * 1000).toISOString();
    const uses = body.uses ?? 1;
    await tx.access.insertEnrollToken({ id, tokenHash: hashSecret(token), expiresAt, uses, groupId: group, createdAt: ctx.nowIso(), createdBy: actor.id });
    return { result: { id, token }, action: 'enroll-token.create', target: id, details: { expiresAt, uses, group }, recompute: false };
  });
}

/** Takes one use of an enrollment token inside the caller's transaction; throws if unusable. */
export async function consumeEnrollToken(ctx: LicensingContext, tx: Aggregates, token: string): Promise<{ id: string; groupId: string | null }> {
  const row = await tx.access.enrollTokenByHash(hashSecret(token));
  if (!row) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token is not known to this service; ask an admin for a new one');
  if (row.revoked_at) throw new DevlicError('ENROLL_TOKEN_INVALID', `enrollment token was revoked at ${row.revoked_at}; ask an admin for a new one`);
  if (Date.parse(row.expires_at) <= ctx.now()) throw new DevlicError('ENROLL_TOKEN_INVALID', `enrollment token expired at ${row.expires_at}; ask an admin for a new one`);
  if (row.uses_left <= 0) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token has no uses left; ask an admin for a new one');
  await tx.access.useEnrollToken(row.id);
  return { id: row.id, groupId: row.group_id };
}
