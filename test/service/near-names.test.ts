// "Did you mean ...?" on a name that was not found: the NOT_FOUND answer of a
// real service for a typed group/subscription name (the pure matcher is in
// near-names.unit.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';

describe('NOT_FOUND from the service suggests near names', () => {
  let svc: ServiceProcess;
  let admin: AdminClient;
  beforeAll(async () => {
    svc = await startService();
    admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/groups', { name: 'Shared laptops' });
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 5, name: 'Office 2026' });
  }, 60_000);
  afterAll(async () => { await svc?.stop(); });

  it('for a group and a subscription name with a typo, and not for a name far from any', async () => {
    const r = await admin.post('/licenses/assign', { subscription: 'Office 2026', group: 'Shared laptps' });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: "no group with id or name 'Shared laptps'; did you mean 'Shared laptops'?" });
    const s = await admin.post('/licenses/assign', { subscription: 'office 2062', group: 'Shared laptops' });
    expect(s.body.error.message).toBe("no subscription with id or name 'office 2062'; did you mean 'Office 2026'?");
    const far = await admin.post('/licenses/assign', { subscription: 'Office 2026', group: 'Kitchen' });
    expect(far.body.error.message).toBe("no group with id or name 'Kitchen'");
    // Nothing was assigned.
    expect((await admin.ok('GET', '/subscriptions/Office%202026')).seatsUsed ?? 0).toBe(0);
  });
});
