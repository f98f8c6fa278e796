// Adding, listing and removing directory connections. Adding stores the bind
// password sealed (secret.ts); the audit event records everything but it.
// A directory still followed by a group cannot be removed (DIRECTORY_IN_USE).
import { DevlicError } from '../../shared/errors.ts';
import { SYNC_SECONDS_DEFAULT, type CreateDirectoryBody, type Directory } from '../../shared/schemas/directories.ts';
import { type Actor, type LicensingContext, newId } from '../licensing/context.ts';
import type { Aggregates } from '../store/store.ts';
import type { DirectoryRow } from '../store/queries/directories.ts';
import type { SyncCounts } from './sync.ts';
import type { PasswordBox } from './secret.ts';

export async function directoryByRef(q: Aggregates, ref: string): Promise<DirectoryRow> {
  const row = await q.directories.byRef(ref);
  if (!row) throw new DevlicError('NOT_FOUND', `no directory '${ref}' ('devlic-admin directories list' shows them)`);
  return row;
}

export function addDirectory(ctx: LicensingContext, box: PasswordBox, actor: Actor, body: CreateDirectoryBody): Promise<string> {
  return ctx.mutate(actor, async (tx) => {
    if (await tx.directories.byRef(body.name)) throw new DevlicError('NAME_TAKEN', `a directory named '${body.name}' already exists`);
    const id = newId('dir');
    const syncSeconds = body.syncSeconds ?? SYNC_SECONDS_DEFAULT;
    await tx.directories.insert({
      id, name: body.name, url: body.url, bindDn: body.bindDn, sealedPassword: box.seal(id, body.password), baseDn: body.baseDn, syncSeconds, at: ctx.nowIso(),
    });
    return { result: id, action: 'directory.add', target: id, details: { name: body.name, url: body.url, bindDn: body.bindDn, baseDn: body.baseDn, syncSeconds }, recompute: false };
  });
}

export function removeDirectory(ctx: LicensingContext, actor: Actor, ref: string): Promise<{ id: string; name: string }> {
  return ctx.mutate(actor, async (tx) => {
    const row = await directoryByRef(tx, ref);
    const groups = [...await tx.directories.groupsOf(row.id), ...await tx.userGroups.directoryGroups(row.id)];
    if (groups.length > 0) {
      throw new DevlicError('DIRECTORY_IN_USE', `directory '${row.name}' is followed by ${groups.map((g) => `'${g.name}'`).join(', ')}; delete those groups first`, { groups: groups.length });
    }
    await tx.directories.delete(row.id);
    return { result: { id: row.id, name: row.name }, action: 'directory.remove', target: row.id, details: { name: row.name, url: row.url }, recompute: false };
  });
}

export async function directoryView(q: Aggregates, row: DirectoryRow): Promise<Directory> {
  let counts: SyncCounts | null = null;
  try { counts = row.last_sync_counts ? JSON.parse(row.last_sync_counts) as SyncCounts : null; } catch { /* shown as unknown */ }
  return {
    id: row.id, name: row.name, url: row.url, bindDn: row.bind_dn, baseDn: row.base_dn, syncSeconds: Number(row.sync_seconds),
    createdAt: row.created_at, nextSyncAt: row.next_sync_at, groups: await q.directories.groupsOf(row.id), userGroups: await q.userGroups.directoryGroups(row.id),
    lastSync: row.last_sync_at ? { at: row.last_sync_at, ok: Number(row.last_sync_ok) === 1, error: row.last_sync_error, counts } : null,
  };
}

export async function listDirectories(q: Aggregates, id?: string): Promise<Directory[]> {
  const rows = id ? [await directoryByRef(q, id)] : await q.directories.all();
  return Promise.all(rows.map((r) => directoryView(q, r)));
}
