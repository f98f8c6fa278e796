// The licensing core's shared context: the database, the clock, and the one
// way to change data. Every admin change runs as one transaction that also
// writes its audit event and recomputes entitlements, so a crash can never
// leave a change without its audit record or a device with a stale answer.
//
// No silent destruction: a change that would take a seat from any device, or
// a user licence from any person, is run, measured and rolled back unless
// the caller confirmed it, so the impact
// an admin is shown comes from the very allocation code that makes the change.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Store, TxStore } from '../store/store.ts';
import type { Changed } from '../store/sql.ts';
import type { Role } from '../../shared/schemas/admin.ts';
import { DevlicError } from '../../shared/errors.ts';
import type { Impact } from '../../shared/schemas/admin.ts';
import { recompute, recomputeEntitlements, type Recomputed } from './recompute.ts';
import { recomputeUsers } from './recompute-users.ts';

export interface Actor { id: string; name: string; role: Role }

/** Actor used for changes the service makes by itself (e.g. a term ending). */
export const SYSTEM_ACTOR: Actor = { id: 'system', name: 'devlic-server', role: 'global-admin' };

export interface Change<T> {
  result: T; action: string; target: string; details?: Record<string, unknown>;
  /** false for changes that cannot move a seat (a new token, an empty group): skips the recompute; 'users' for changes that can move only people's seats (user groups). */
  recompute?: boolean | 'users';
  /** Devices to report as changed even if their entitlement row did not move (a device merged away: its waits must end). */
  alsoChanged?: string[];
  /**
   * User groups whose people or licence this change moves (or creates):
   * announced after commit so open consoles re-read them. A change that
   * renames or deletes a user group must name it here too.
   */
  userGroups?: string[];
  /** Runs after the recompute, before the audit event is written (it may still fill in `details`). */
  afterRecompute?: (r: Recomputed) => void;
}

export class LicensingContext {
  readonly store: Store;
  readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /**
   * Called after commit with the devices whose entitlement changed, or 'all'
   * when they are not known (PostgreSQL: a notification missed by this
   * replica); changes committed by other replicas included.
   */
  onEntitlementsChanged(fn: (deviceIds: Changed) => void): void {
    this.store.onChanged((ids, kind) => { if (kind === 'entitlement') fn(ids); });
  }

  /**
   * Called after commit, on every replica, with the devices whose key changed
   * or that are gone, and with admins whose access was revoked: what each
   * replica caches about them in memory must go.
   */
  onAccessChanged(fn: (ids: Changed, kind: 'device-key' | 'admin-access') => void): void {
    this.store.onChanged((ids, kind) => { if (kind === 'device-key' || kind === 'admin-access') fn(ids, kind); });
  }

  /** Called after commit, on every replica, with the people whose user-licence answer changed, or 'all'. */
  onUserEntitlementsChanged(fn: (users: Changed) => void): void {
    this.store.onChanged((ids, kind) => { if (kind === 'user-entitlement') fn(ids); });
  }

  /**
   * Called after commit, on every replica, with the user groups whose people
   * or licence changed (created ones included), or 'all'.
   */
  onUserGroupsChanged(fn: (groups: Changed) => void): void {
    this.store.onChanged((ids, kind) => { if (kind === 'user-group') fn(ids); });
  }

  /**
   * Runs an admin change, its audit event and the recompute in one
   * transaction. Unless `confirm` is true, a change that takes a seat from
   * any device or a user licence from any person is rolled back with
   * CONFIRMATION_REQUIRED and its Impact.
   */
  mutate<T>(actor: Actor, fn: (tx: TxStore) => Promise<Change<T>>, opts: { confirm?: boolean } = {}): Promise<T> {
    return this.store.transaction(async (tx) => {
      const c = await fn(tx);
      let changed: string[] = [];
      let impact: Impact | null = null;
      if (c.recompute !== false && c.recompute !== 'users') {
        const r = await recompute(tx, this.now());
        changed = r.changed;
        if (r.lostSeat.length > 0) impact = await this.impact(tx, r.lostSeat, r.gotSeat.length);
        c.afterRecompute?.(r);
      }
      if (c.recompute !== false) {
        const u = await recomputeUsers(tx, this.now());
        if (u.changed.length) tx.changed(u.changed, 'user-entitlement');
        if (u.lostSeat.length || u.gotSeat.length) c.details = { ...c.details, usersLosingSeat: u.lostSeat.length, usersGettingSeat: u.gotSeat.length };
        if (u.lostSeat.length > 0) {
          impact = { ...(impact ?? { devices: 0, devicesGainingSeat: 0, sample: [] }), people: u.lostSeat.length, peopleGainingSeat: u.gotSeat.length, peopleSample: u.lostSeat.slice(0, 20) };
        }
      }
      if (impact && opts.confirm !== true) {
        // Thrown inside the transaction: the change and its recompute are rolled back.
        throw new DevlicError('CONFIRMATION_REQUIRED', `${c.action}: ${describeImpact(impact)}; nothing was changed. Repeat with confirm: true (devlic-admin: --yes) to go ahead`,
          { impact });
      }
      await tx.audit.insert({
        at: this.nowIso(), actorId: actor.id, actorName: actor.name, action: c.action, target: c.target,
        details: impact ? { ...c.details, impact: { devices: impact.devices, devicesGainingSeat: impact.devicesGainingSeat, ...(impact.people ? { people: impact.people, peopleGainingSeat: impact.peopleGainingSeat } : {}) } } : c.details ?? {},
      });
      // A recompute names each device once: the store need not drop repeats again.
      tx.changed(c.alsoChanged ? [...new Set([...changed, ...c.alsoChanged])] : changed, 'entitlement', { distinct: true });
      // Announced only on commit: a refused or unconfirmed change (thrown above) tells no console anything.
      if (c.userGroups?.length) tx.changed(c.userGroups, 'user-group');
      return c.result;
    });
  }

  /**
   * Recompute without an admin change (time passing, device enrolling or
   * reporting). `users`: people's licences too (start-up and a term ending
   * move them; a device enrolling or reporting cannot).
   */
  refresh(fn?: (tx: TxStore) => Promise<void>, opts: { users?: boolean } = {}): Promise<string[]> {
    return this.store.transaction(async (tx) => {
      await fn?.(tx);
      const changed = await recomputeEntitlements(tx, this.now());
      tx.changed(changed, 'entitlement', { distinct: true });
      if (opts.users) {
        const u = await recomputeUsers(tx, this.now());
        if (u.changed.length) tx.changed(u.changed, 'user-entitlement');
      }
      return changed;
    });
  }

  private async impact(tx: TxStore, lost: string[], gained: number): Promise<Impact> {
    const ids = lost.slice(0, 20);
    const names = await tx.devices.namesOf(ids); // one query for the sample, not one per device
    const sample = ids.map((id) => ({ id, name: names.get(id) ?? id }));
    return { devices: lost.length, devicesGainingSeat: gained, sample };
  }
}

/** "23 devices go read-only (a, b, c and 20 more); 1 device gets a seat; 2 people lose their user licence (alice@corp, bob@corp)". */
export function describeImpact(i: Impact): string {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  const parts: string[] = [];
  if (i.devices > 0 || !i.people) {
    const names = i.sample.slice(0, 3).map((d) => d.name).join(', ');
    const more = i.devices > 3 ? ` and ${i.devices - 3} more` : '';
    parts.push(`${n(i.devices, 'device goes', 'devices go')} read-only (${names}${more})`);
  }
  if (i.devicesGainingSeat > 0) parts.push(`${n(i.devicesGainingSeat, 'device gets', 'devices get')} a seat`);
  if (i.people) {
    const names = (i.peopleSample ?? []).slice(0, 3).join(', ');
    const more = i.people > 3 ? ` and ${i.people - 3} more` : '';
    parts.push(`${n(i.people, 'person loses', 'people lose')} their user licence (${names}${more})`);
  }
  if (i.peopleGainingSeat) parts.push(`${n(i.peopleGainingSeat, 'person gets', 'people get')} one`);
  return parts.join('; ');
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** Secrets are random 32 bytes; stored only as SHA-256 (high entropy makes a slow hash unnecessary). */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
