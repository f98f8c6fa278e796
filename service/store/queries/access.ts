// Admins and enrollment tokens (stored as SHA-256 hashes only).
import type { SqlConn } from '../sql.ts';

export interface AdminRef { id: string; name: string; role: string; revoked_at: string | null }
export interface EnrollTokenRow { id: string; expires_at: string; uses_left: number; group_id: string | null; revoked_at: string | null }

export function accessQueries(c: SqlConn) {
  return {
    async adminCount(): Promise<number> {
      return (await c.get<{ n: number }>('SELECT COUNT(*) AS n FROM admins'))!.n;
    },
    async activeGlobalAdmins(): Promise<number> {
      return (await c.get<{ n: number }>("SELECT COUNT(*) AS n FROM admins WHERE role = 'global-admin' AND revoked_at IS NULL"))!.n;
    },
    async insertAdmin(a: { id: string; name: string; role: string; tokenHash: string; createdAt: string }): Promise<void> {
      await c.run('INSERT INTO admins (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)', [a.id, a.name, a.role, a.tokenHash, a.createdAt]);
    },
    /** The admin a token hash belongs to, unless revoked. */
    adminByTokenHash(hash: string): Promise<{ id: string; name: string; role: string } | undefined> {
      return c.get('SELECT id, name, role FROM admins WHERE token_hash = ? AND revoked_at IS NULL', [hash]);
    },
    adminById(id: string): Promise<AdminRef | undefined> {
      return c.get('SELECT id, name, role, revoked_at FROM admins WHERE id = ?', [id]);
    },
    adminsNamed(name: string, limit: number): Promise<AdminRef[]> {
      return c.all('SELECT id, name, role, revoked_at FROM admins WHERE lower(name) = lower(?) LIMIT ?', [name, limit]);
    },
    async adminName(id: string): Promise<string | null> {
      return (await c.get<{ name: string }>('SELECT name FROM admins WHERE id = ?', [id]))?.name ?? null;
    },
    async revokeAdmin(id: string, at: string, by: { id: string; name: string }): Promise<void> {
      await c.run('UPDATE admins SET revoked_at = ?, revoked_by_id = ?, revoked_by_name = ? WHERE id = ?', [at, by.id, by.name, id]);
    },

    async insertEnrollToken(t: { id: string; tokenHash: string; expiresAt: string; uses: number; groupId: string | null; createdAt: string; createdBy: string }): Promise<void> {
      await c.run('INSERT INTO enroll_tokens (id, token_hash, expires_at, uses_left, group_id, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [t.id, t.tokenHash, t.expiresAt, t.uses, t.groupId, t.createdAt, t.createdBy]);
    },
    enrollTokenById(id: string): Promise<EnrollTokenRow | undefined> {
      return c.get('SELECT id, expires_at, uses_left, group_id, revoked_at FROM enroll_tokens WHERE id = ?', [id]);
    },
    enrollTokenByHash(hash: string): Promise<EnrollTokenRow | undefined> {
      return c.get('SELECT id, expires_at, uses_left, group_id, revoked_at FROM enroll_tokens WHERE token_hash = ?', [hash]);
    },
    async useEnrollToken(id: string): Promise<void> {
      await c.run('UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE id = ?', [id]);
    },
    async revokeEnrollToken(id: string, at: string, by: { id: string; name: string }): Promise<void> {
      await c.run('UPDATE enroll_tokens SET revoked_at = ?, revoked_by_id = ?, revoked_by_name = ? WHERE id = ?', [at, by.id, by.name, id]);
    },
  };
}
export type AccessQueries = ReturnType<typeof accessQueries>;
