// kill -9 of the service during a burst of admin changes: every change that
// was acknowledged is there after the restart, with its audit event, and the
// database passes SQLite's integrity check.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';

let svc: ServiceProcess | undefined;
afterAll(async () => { await svc?.stop(); });

describe('crash safety of the service', () => {
  it('loses no acknowledged change or audit event when killed mid-burst', async () => {
    svc = await startService();
    const admin = adminClient(svc.url, svc.adminToken);
    const sub = await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 1000, name: 'Burst EA' });
    const acknowledged: { group: string; assigned: boolean }[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `burst-${w}-${i}`;
        try {
          const g = await admin.call('POST', '/groups', { name });
          if (g.status !== 201) continue;
          const entry = { group: g.body.id as string, assigned: false };
          acknowledged.push(entry);
          const a = await admin.call('POST', '/licenses/assign', { subscription: sub.id, group: g.body.id });
          if (a.status === 201) entry.assigned = true;
        } catch {
          return; // connection dropped by the kill
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 700 + Math.floor(Math.random() * 500)));
    await svc.kill9();
    stop = true;
    await Promise.all(workers);
    expect(acknowledged.length).toBeGreaterThan(10);

    svc = await startService({ dataDir: svc.dataDir, port: svc.port });
    const after = adminClient(svc.url, svc.adminToken);
    const groups = new Map((await after.ok('GET', '/groups')).items.map((g: any) => [g.id, g]));
    const audit = (await after.ok('GET', '/audit?limit=1000')).items;
    const auditFor = (action: string, target: string) => audit.some((e: any) => e.action === action && e.target === target);
    for (const a of acknowledged) {
      expect(groups.has(a.group), `group ${a.group}`).toBe(true);
      expect(auditFor('group.create', a.group)).toBe(true);
      if (a.assigned) {
        expect((groups.get(a.group) as any).subscription?.id).toBe(sub.id);
        expect(auditFor('license.assign', a.group)).toBe(true);
      }
    }
    // Nothing without its audit event either: every group and assignment in the data has one.
    for (const id of groups.keys()) expect(auditFor('group.create', id as string)).toBe(true);
    // SQLite's file must be intact; PostgreSQL's own crash safety is not ours to test (its client was killed, not it).
    if (!svc.database) {
      const db = new Database(join(svc.dataDir, 'devlic.db'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    }
  });
});
