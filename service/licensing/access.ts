// Who may talk to the service: admin tokens (roles global-admin and reader)
// and enrollment tokens for devices. Secrets are shown once and stored hashed.
// Both can be revoked: a revoked admin token is refused from its next request
// on, a revoked enrollment token enrolls nothing; both stay listed.
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
  const row = ctx.db.prepare('SELECT id, name, role FROM admins WHERE token_hash = ? AND revoked_at IS NULL').get(hashSecret(token)) as Actor | undefined;
  return row ?? null;
}

/** An admin by id, else by a unique name. */
function resolveAdmin(ctx: LicensingContext, ref: string): { id: string; name: string; role: string; revoked_at: string | null } {
  const byId = ctx.db.prepare('SELECT id, name, role, revoked_at FROM admins WHERE id = ?').get(ref) as any;
  if (byId) return byId;
  const byName = ctx.db.prepare('SELECT id, name, role, revoked_at FROM admins WHERE name = ? COLLATE NOCASE LIMIT 3').all(ref) as any[];
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) throw new DevlicError('AMBIGUOUS_NAME', `more than one admin is named '${ref}' (${byName.map((r) => r.id).join(', ')}); use the id`);
  throw new DevlicError('NOT_FOUND', `no admin with id or name '${ref}'`);
}

/**
 * Revokes an admin token. The last global-admin in service is never revoked
 * (not even by itself): the service would be left with nobody able to change
 * anything. The caller closes the admin's open event streams after commit.
 */
export function revokeAdmin(ctx: LicensingContext, actor: Actor, ref: string): string {
  return ctx.mutate(actor, () => {
    const a = resolveAdmin(ctx, ref);
    if (a.revoked_at) throw new DevlicError('CONFLICT', `admin '${a.name}' (${a.id}) was already revoked at ${a.revoked_at}`);
    if (a.role === 'global-admin') {
      const n = (ctx.db.prepare("SELECT COUNT(*) AS n FROM admins WHERE role = 'global-admin' AND revoked_at IS NULL").get() as { n: number }).n;
      if (n <= 1) {
        throw new DevlicError('LAST_GLOBAL_ADMIN', `'${a.name}' (${a.id}) is the last global-admin; create another one first (devlic-admin admins create --role global-admin)`,
          { admin: a.id });
      }
    }
    ctx.db.prepare('UPDATE admins SET revoked_at = ?, revoked_by_id = ?, revoked_by_name = ? WHERE id = ?').run(ctx.nowIso(), actor.id, actor.name, a.id);
    return { result: a.id, action: 'admin.revoke', target: a.id, details: { name: a.name, role: a.role, self: a.id === actor.id }, recompute: false };
  });
}

export function revokeEnrollToken(ctx: LicensingContext, actor: Actor, id: string): string {
  return ctx.mutate(actor, () => {
    const t = ctx.db.prepare('SELECT id, revoked_at, uses_left, expires_at FROM enroll_tokens WHERE id = ?').get(id) as any;
    if (!t) throw new DevlicError('NOT_FOUND', `no enrollment token with id '${id}' ('devlic-admin enroll-tokens list' shows them)`);
    if (t.revoked_at) throw new DevlicError('CONFLICT', `enrollment token ${id} was already revoked at ${t.revoked_at}`);
    ctx.db.prepare('UPDATE enroll_tokens SET revoked_at = ?, revoked_by_id = ?, revoked_by_name = ? WHERE id = ?').run(ctx.nowIso(), actor.id, actor.name, id);
    return { result: id, action: 'enroll-token.revoke', target: id, details: { usesLeft: t.uses_left, expiresAt: t.expires_at }, recompute: false };
  });
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
  const row = ctx.db.prepare('SELECT id, expires_at, uses_left, group_id, revoked_at FROM enroll_tokens WHERE token_hash = ?').get(hashSecret(token)) as any;
  if (!row) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token is not known to this service; ask an admin for a new one');
  if (row.revoked_at) throw new DevlicError('ENROLL_TOKEN_INVALID', `enrollment token was revoked at ${row.revoked_at}; ask an admin for a new one`);
  if (Date.parse(row.expires_at) <= ctx.now()) throw new DevlicError('ENROLL_TOKEN_INVALID', `enrollment token expired at ${row.expires_at}; ask an admin for a new one`);
  if (row.uses_left <= 0) throw new DevlicError('ENROLL_TOKEN_INVALID', 'enrollment token has no uses left; ask an admin for a new one');
  ctx.db.prepare('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE id = ?').run(row.id);
  return { id: row.id, groupId: row.group_id };
}
