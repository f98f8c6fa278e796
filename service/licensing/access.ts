// Who may talk to the service: admin tokens (roles global-admin and reader)
// and enrollment tokens for devices. Secrets are shown once and stored hashed.
import { DevlicError } from '../../shared/errors.ts';
import type { CreateEnrollTokenBody, Role } from '../../shared/schemas/admin.ts';
import { type Actor, type LicensingContext, hashSecret, newId, newSecret } from './context.ts';
import { resolveRef } from './resolve.ts';

export function createAdmin(ctx: LicensingContext, actor: Actor, role: Role, name?: string): { id: string; token: string } {
  return ctx.mutate(actor, () => {
    const id = newId('adm');
    const token = newSecret('dla');
    ctx.db.prepare('INSERT INTO admins (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, name ?? `${role} ${id.slice(-6)}`, role, hashSecret(token), ctx.nowIso());
    return { result: { id, token }, action: 'admin.create', target: id, details: { role, name: name ?? null }, recompute: false };
  });
}

/** Creates the first global admin on an empty database; returns null when admins exist. */
export function bootstrapAdmin(ctx: LicensingContext): { id: string; token: string } | null {
  const n = (ctx.db.prepare('SELECT COUNT(*) AS n FROM admins').get() as any).n;
  if (n > 0) return null;
  return createAdmin(ctx, { id: 'system', name: 'bootstrap', role: 'global-admin' }, 'global-admin', 'bootstrap admin');
}

export function authenticateAdmin(ctx: LicensingContext, token: string): Actor | null {
  const row = ctx.db.prepare('SELECT id, name, role FROM admins WHERE token_hash = ?').get(hashSecret(token)) as Actor | undefined;
  return row ?? null;
}

export function createEnrollToken(ctx: LicensingContext, actor: Actor, body: CreateEnrollTokenBody): { id: string; token: string } {
  return ctx.mutate(actor, () => {
    const group = body.group ? resolveRef(ctx.db, 'group', body.group) : null;
    const id = newId('enr');
    const token = newSecret('dle');
    const expiresAt = new Date(ctx.now() + (body.expiresInSeconds ?? 7 * 86400) * 1000).toISOString();
    const uses = body.uses ?? 1;
    ctx.db.prepare('INSERT INTO enroll_tokens (id, token_hash, expires_at, uses_left, group_id, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, hashSecret(token), expiresAt, uses, group, ctx.nowIso(), actor.id);
    return { result: { id, token }, action: 'enroll-token.create', target: id, details: { expiresAt, uses, group }, recompute: false };
  });
}

/** Takes one use of an enrollment token inside the caller's transaction; throws if unusable. */
export function consumeEnrollToken(ctx: LicensingContext, token: string): { id: string; groupId: string | null } {
  const row = ctx.db.prepare('SELECT id, expires_at, uses_left, group_id FROM enroll_tokens WHERE token_hash = ?').get(hashSecret(token)) as any;
  if (!row) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token is not known to this service; ask an admin for a new one');
  if (Date.parse(row.expires_at) <= ctx.now()) throw new DevlicError('ENROLL_TOKEN_INVALID', `enrollment token expired at ${row.expires_at}; ask an admin for a new one`);
  if (row.uses_left <= 0) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token has no uses left; ask an admin for a new one');
  ctx.db.prepare('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE id = ?').run(row.id);
  return { id: row.id, groupId: row.group_id };
}
