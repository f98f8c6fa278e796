// Adding, changing, listing and removing directory connections. Adding and
// changing store the bind password sealed (secret.ts); the audit events
// record everything but it (a changed password only as "changed"). A
// directory still followed by a group cannot be removed (DIRECTORY_IN_USE).
import { DevlicError } from '../../shared/errors.ts';
import { SYNC_SECONDS_DEFAULT, type CreateDirectoryBody, type Directory, type UpdateDirectoryBody } from '../../shared/schemas/directories.ts';
import { type Actor, type LicensingContext, newId } from '../licensing/context.ts';
import type { Aggregates } from '../store/store.ts';
import type { DirectoryChanges, DirectoryRow } from '../store/queries/directories.ts';
import { describeCa, parseCaPem } from './ca.ts';
import type { SyncCounts } from './sync.ts';
import type { PasswordBox } from './secret.ts';

export async function directoryByRef(q: Aggregates, ref: string): Promise<DirectoryRow> {
  const row = await q.directories.byRef(ref);
  if (!row) throw new DevlicError('NOT_FOUND', `no directory '${ref}' ('devlic-admin directories list' shows them)`);
  return row;
}

/** TLS settings that make sense together: StartTLS upgrades ldap:// only; a CA is used only over TLS. DIRECTORY_SETTINGS_INVALID otherwise. */
function checkTls(url: string, caCert: string | null, startTls: boolean): void {
  const ldaps = url.toLowerCase().startsWith('ldaps://');
  if (startTls && ldaps) throw new DevlicError('DIRECTORY_SETTINGS_INVALID', 'StartTLS upgrades an ldap:// connection; an ldaps:// URL is TLS from the start: use one or the other');
  if (caCert !== null) {
    parseCaPem(caCert);
    if (!ldaps && !startTls) throw new DevlicError('DIRECTORY_SETTINGS_INVALID', 'a CA certificate is only used over TLS: give an ldaps:// URL or StartTLS with it');
  }
}

/** What the audit log keeps of the TLS settings: the CA by subject and fingerprint, never the PEM. */
const tlsDetails = (caCert: string | null, startTls: boolean) => ({ ca: caCert === null ? null : describeCa(caCert).fingerprint256, startTls });

export function addDirectory(ctx: LicensingContext, box: PasswordBox, actor: Actor, body: CreateDirectoryBody): Promise<string> {
  const caCert = body.caCert ?? null;
  const startTls = body.startTls ?? false;
  checkTls(body.url, caCert, startTls);
  return ctx.mutate(actor, async (tx) => {
    if (await tx.directories.byRef(body.name)) throw new DevlicError('NAME_TAKEN', `a directory named '${body.name}' already exists`);
    const id = newId('dir');
    const syncSeconds = body.syncSeconds ?? SYNC_SECONDS_DEFAULT;
    await tx.directories.insert({
      id, name: body.name, url: body.url, bindDn: body.bindDn, sealedPassword: box.seal(id, body.password), baseDn: body.baseDn, syncSeconds, at: ctx.nowIso(),
      caCert, startTls,
    });
    return {
      result: id, action: 'directory.add', target: id, recompute: false,
      details: { name: body.name, url: body.url, bindDn: body.bindDn, baseDn: body.baseDn, syncSeconds, ...tlsDetails(caCert, startTls) },
    };
  });
}

/**
 * Changes a directory's settings in place, so its groups and their members
 * stay (removing and adding it again would delete every group first). A new
 * password is sealed as at `add`; the audit event names it as changed and
 * nothing more. Bad settings: DIRECTORY_SETTINGS_INVALID, nothing changed. Memberships move
 * only at the next sync; a shorter interval brings that sync forward.
 */
export function updateDirectory(ctx: LicensingContext, box: PasswordBox, actor: Actor, ref: string, body: UpdateDirectoryBody): Promise<string> {
  if (body.caCert !== undefined && body.caCert !== null) parseCaPem(body.caCert);
  return ctx.mutate(actor, async (tx) => {
    const row = await directoryByRef(tx, ref);
    const was = { url: row.url, bindDn: row.bind_dn, baseDn: row.base_dn, syncSeconds: Number(row.sync_seconds), caCert: row.ca_cert, startTls: Number(row.start_tls) === 1 };
    const now = { ...was };
    for (const k of ['url', 'bindDn', 'baseDn', 'syncSeconds', 'caCert', 'startTls'] as const) if (body[k] !== undefined) (now as Record<string, unknown>)[k] = body[k];
    checkTls(now.url, now.caCert, now.startTls);
    const changes: DirectoryChanges = {};
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const k of ['url', 'bindDn', 'baseDn', 'syncSeconds', 'caCert', 'startTls'] as const) {
      if (now[k] === was[k]) continue;
      (changes as Record<string, unknown>)[k] = now[k];
      const show = (v: unknown) => (k === 'caCert' ? (v === null ? null : describeCa(v as string).fingerprint256) : v);
      before[k === 'caCert' ? 'ca' : k] = show(was[k]);
      after[k === 'caCert' ? 'ca' : k] = show(now[k]);
    }
    const changed = Object.keys(after);
    if (body.password !== undefined) {
      changes.sealedPassword = box.seal(row.id, body.password);
      changed.push('password');
    }
    if (changed.length === 0) throw new DevlicError('CONFLICT', `directory '${row.name}' already has these settings; nothing was changed`);
    const next = changes.syncSeconds !== undefined ? new Date(ctx.now() + changes.syncSeconds * 1000).toISOString() : undefined;
    await tx.directories.update(row.id, changes, next);
    return { result: row.id, action: 'directory.update', target: row.id, recompute: false, details: { name: row.name, changed, before, after } };
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
    ca: row.ca_cert ? describeCa(row.ca_cert) : null, startTls: Number(row.start_tls) === 1,
    createdAt: row.created_at, nextSyncAt: row.next_sync_at, groups: await q.directories.groupsOf(row.id), userGroups: await q.userGroups.directoryGroups(row.id),
    lastSync: row.last_sync_at ? { at: row.last_sync_at, ok: Number(row.last_sync_ok) === 1, error: row.last_sync_error, counts } : null,
  };
}

export async function listDirectories(q: Aggregates, id?: string): Promise<Directory[]> {
  const rows = id ? [await directoryByRef(q, id)] : await q.directories.all();
  return Promise.all(rows.map((r) => directoryView(q, r)));
}
