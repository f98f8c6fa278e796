// The lifecycle through the real HTTP API of a real devlic-server process:
// admin and enrollment tokens revoked, devices retired, restored and deleted,
// groups renamed and deleted, subscriptions renamed, the confirmation guard
// (428 CONFIRMATION_REQUIRED with the impact, nothing changed), the CSV
// export, and every change audited with names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT, startService, tempDir, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { openServiceDatabase } from '../helpers/test-backend.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, claimsOf, fakeFacts } from '../helpers/sim-device.ts';

const SKU = 'M365_APPS_ENTERPRISE_DEVICE';
let svc: ServiceProcess;
let admin: AdminClient;

async function enroll(names: string[], group?: string): Promise<SimDevice[]> {
  const t = await admin.ok('POST', '/enroll-tokens', { uses: names.length, ...(group ? { group } : {}) });
  const out: SimDevice[] = [];
  for (const n of names) {
    const d = new SimDevice(svc.url, fakeFacts(n));
    expect((await d.enroll(t.token)).status).toBe(201);
    out.push(d);
  }
  return out;
}

/** Everything an admin can see, to prove a refused request changed nothing. */
async function snapshot() {
  const paths = ['/subscriptions', '/groups', '/licenses', '/devices?limit=1000', '/enroll-tokens', '/admins', '/audit?limit=1000'];
  return Promise.all(paths.map((p) => admin.ok('GET', p)));
}

async function lastAudit(action: string): Promise<any> {
  return (await admin.ok('GET', `/audit?action=${encodeURIComponent(action)}&limit=1`)).items[0];
}

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
});
afterAll(async () => { await svc?.stop(); });

describe('admin tokens', () => {
  it('revokes a token: 401 from its next request, listed as revoked, audited', async () => {
    const reader = await admin.ok('POST', '/admins', { role: 'reader', name: 'temp helpdesk' });
    const as = adminClient(svc.url, reader.token);
    expect((await as.get('/whoami')).status).toBe(200);
    const r = await admin.ok('POST', `/admins/${reader.id}/revoke`, {});
    expect(r).toMatchObject({ id: reader.id, revokedBy: { name: 'bootstrap admin' } });
    expect(r.revokedAt).toBeTruthy();
    const after = await as.get('/devices');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('UNAUTHENTICATED');
    expect((await admin.ok('GET', '/admins')).items.find((a: any) => a.id === reader.id).revokedAt).toBe(r.revokedAt);
    expect(await lastAudit('admin.revoke')).toMatchObject({ target: reader.id, targetName: 'temp helpdesk', actor: { name: 'bootstrap admin' } });
    const again = await admin.post(`/admins/${reader.id}/revoke`);
    expect([again.status, again.body.error.code]).toEqual([409, 'CONFLICT']);
  });

  it('never revokes the last global-admin, not even by itself, and changes nothing', async () => {
    const me = await admin.ok('GET', '/whoami');
    const before = await snapshot();
    const r = await admin.post(`/admins/${me.id}/revoke`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('LAST_GLOBAL_ADMIN');
    expect(r.body.error.message).toMatch(/last global-admin/);
    expect(await snapshot()).toEqual(before);
    // With a second global-admin, the first may revoke itself; the second is then the last.
    const second = await admin.ok('POST', '/admins', { role: 'global-admin', name: 'deputy' });
    const deputy = adminClient(svc.url, second.token);
    const firstToken = admin;
    admin = deputy;
    expect((await firstToken.post(`/admins/${me.id}/revoke`)).status).toBe(200);
    expect((await firstToken.get('/whoami')).status).toBe(401);
    const self = await deputy.post(`/admins/${second.id}/revoke`);
    expect(self.body.error.code).toBe('LAST_GLOBAL_ADMIN');
  });

  it('refuses readers on every new route with 403', async () => {
    const reader = adminClient(svc.url, (await admin.ok('POST', '/admins', { role: 'reader', name: 'looker' })).token);
    const [d] = await enroll(['reader-target']);
    for (const [method, path, body] of [
      ['POST', `/admins/${(await admin.ok('GET', '/whoami')).id}/revoke`, {}],
      ['POST', `/enroll-tokens/enr_x/revoke`, {}],
      ['POST', `/devices/${d.deviceId}/retire`, { confirm: true }],
      ['POST', `/devices/${d.deviceId}/restore`, { confirm: true }],
      ['DELETE', `/devices/${d.deviceId}`, undefined],
      ['PATCH', '/groups/x', { name: 'y' }],
      ['DELETE', '/groups/x', undefined],
    ] as const) {
      const r = await reader.call(method, path, body);
      expect([method, path, r.status]).toEqual([method, path, 403]);
    }
    expect((await fetch(`${svc.url}/v1/admin/devices.csv`, { headers: { authorization: `Bearer ${(await admin.ok('POST', '/admins', { role: 'reader' })).token}` } })).status).toBe(200);
  });

  it('closes the event stream of a revoked token at once; reconnecting gets 401', async () => {
    const t = await admin.ok('POST', '/admins', { role: 'reader', name: 'console tab' });
    const res = await fetch(`${svc.url}/v1/admin/events`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const hello = new TextDecoder().decode((await reader.read()).value);
    expect(hello).toMatch(/event: hello/);
    // Another admin's stream stays open.
    const other = await fetch(`${svc.url}/v1/admin/events`, { headers: { authorization: `Bearer ${(await admin.ok('POST', '/admins', { role: 'reader' })).token}` } });
    const otherReader = other.body!.getReader();
    await otherReader.read();
    await admin.ok('POST', `/admins/${t.id}/revoke`, {});
    const ended = await Promise.race([
      (async () => { for (;;) { const c = await reader.read(); if (c.done) return 'ended'; } })(),
      new Promise((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(ended).toBe('ended');
    expect((await fetch(`${svc.url}/v1/admin/events`, { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(401);
    const stillOpen = await Promise.race([otherReader.read().then(() => 'data'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    expect(stillOpen).not.toBe('ended');
    await otherReader.cancel();
  });
});

describe('enrollment tokens', () => {
  it('a revoked token enrolls nothing, keeps its uses, and is listed as revoked', async () => {
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 5 });
    expect(t.status).toBe('active');
    const r = await admin.ok('POST', `/enroll-tokens/${t.id}/revoke`, {});
    expect(r).toMatchObject({ id: t.id, status: 'revoked', usesLeft: 5 });
    const devicesBefore = (await admin.ok('GET', '/devices?limit=1000')).total;
    const e = await new SimDevice(svc.url, fakeFacts('after-revoke')).enroll(t.token);
    expect(e.status).toBe(401);
    expect(e.body.error).toMatchObject({ code: 'ENROLL_TOKEN_INVALID' });
    expect(e.body.error.message).toMatch(/revoked/);
    expect((await admin.ok('GET', '/devices?limit=1000')).total).toBe(devicesBefore);
    const listed = (await admin.ok('GET', '/enroll-tokens')).items.find((x: any) => x.id === t.id);
    expect(listed).toMatchObject({ status: 'revoked', usesLeft: 5, revokedBy: { name: 'deputy' } });
    expect(await lastAudit('enroll-token.revoke')).toMatchObject({ target: t.id });
    expect((await admin.post(`/enroll-tokens/${t.id}/revoke`)).status).toBe(409);
    expect((await admin.post('/enroll-tokens/enr_nope/revoke')).status).toBe(404);
  });
});

describe('retire, restore, delete', () => {
  let devs: SimDevice[];

  beforeAll(async () => {
    await admin.ok('POST', '/groups', { name: 'Cart' });
    devs = await enroll(['cart-0', 'cart-1', 'cart-2'], 'Cart');
    await admin.ok('POST', '/subscriptions', { product: SKU, seats: 2, name: 'Cart EA' });
    await admin.ok('POST', '/licenses/assign', { subscription: 'Cart EA', group: 'Cart' });
  });

  it('refuses to retire a seated device without confirm: 428 with the impact, nothing changed', async () => {
    const before = await snapshot();
    const r = await admin.post(`/devices/${devs[0].deviceId}/retire`, {});
    expect(r.status).toBe(428);
    expect(r.body.error.code).toBe('CONFIRMATION_REQUIRED');
    expect(r.body.error.details.impact).toEqual({ devices: 1, devicesGainingSeat: 1, sample: [{ id: devs[0].deviceId, name: 'cart-0' }] });
    expect(await snapshot()).toEqual(before);
  });

  it('retires with confirm: the device loses its seat, the next one gets it, a waiting long-poll is woken', async () => {
    const cur = await devs[0].entitlement();
    const poll = devs[0].entitlement({ etag: cur.etag!, wait: 30 });
    const started = Date.now();
    const d = await admin.ok('POST', `/devices/${devs[0].deviceId}/retire`, { confirm: true });
    expect(d).toMatchObject({ licensed: false, reason: 'DEVICE_RETIRED', retired: { by: { name: 'deputy' }, reason: 'admin' } });
    const woken = await poll;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(woken.status).toBe(200);
    expect(claimsOf(woken.body.token)).toMatchObject({ status: 'unlicensed', reason: 'DEVICE_RETIRED' });
    expect((await admin.ok('GET', `/devices/${devs[2].deviceId}`)).licensed).toBe(true);
    const retired = await admin.ok('GET', '/devices?retired=true');
    expect(retired.items.map((x: any) => x.name)).toEqual(['cart-0']);
    expect((await admin.ok('GET', '/devices?retired=false&q=cart')).items.map((x: any) => x.name)).toEqual(['cart-1', 'cart-2']);
    // Its agent is not cut off: it still reports (and is read-only).
    expect(await devs[0].report({ mode: 'read-only', reason: 'DEVICE_RETIRED', users: [], agentVersion: 't', lastError: null, cacheExpiresAt: null, entitlementSeq: null })).toBe(204);
    expect(await lastAudit('device.retire')).toMatchObject({ target: devs[0].deviceId, targetName: 'cart-0', details: { reason: 'admin', impact: { devices: 1, devicesGainingSeat: 1 } } });
    expect((await admin.post(`/devices/${devs[0].deviceId}/retire`, { confirm: true })).status).toBe(409);
  });

  it('restores: guarded because it takes the seat back, then the device is licensed again', async () => {
    const r = await admin.post(`/devices/${devs[0].deviceId}/restore`, {});
    expect(r.status).toBe(428);
    expect(r.body.error.details.impact.sample).toEqual([{ id: devs[2].deviceId, name: 'cart-2' }]);
    const d = await admin.ok('POST', `/devices/${devs[0].deviceId}/restore`, { confirm: true });
    expect(d).toMatchObject({ licensed: true, retired: null });
    expect((await admin.ok('GET', `/devices/${devs[2].deviceId}`)).reason).toBe('SEATS_EXHAUSTED');
    expect((await admin.post(`/devices/${devs[0].deviceId}/restore`, { confirm: true })).body.error.code).toBe('DEVICE_NOT_RETIRED');
  });

  it('lists and exports exactly the devices one subscription seated or turned away', async () => {
    const names = async (q: string) => (await admin.ok('GET', `/devices?${q}`)).items.map((x: any) => x.name).sort();
    expect(await names('subscription=Cart%20EA')).toEqual(['cart-0', 'cart-1', 'cart-2']);
    expect(await names('subscription=Cart%20EA&reason=SEATS_EXHAUSTED')).toEqual(['cart-2']);
    const reader = (await admin.ok('POST', '/admins', { role: 'reader' })).token;
    const csv = await (await fetch(`${svc.url}/v1/admin/devices.csv?reason=SEATS_EXHAUSTED&subscription=Cart%20EA`, { headers: { authorization: `Bearer ${reader}` } })).text();
    expect(csv.split('\r\n').filter(Boolean).slice(1).map((l) => l.split(',')[0])).toEqual(['cart-2']);
    const unknown = await admin.call('GET', '/devices?subscription=No%20such%20EA');
    expect(unknown.status).toBe(404);
  });

  it('pages the device list by cursor over HTTP: next leads to the following page, the last page has none, bad cursors are 400', async () => {
    const all = (await admin.ok('GET', '/devices?q=cart&limit=1000')).items.map((x: any) => x.id);
    expect(all.length).toBe(3);
    const walked: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r: { items: { id: string }[]; total: number; next: string | null } = await admin.ok('GET', `/devices?q=cart&limit=2${next ? `&after=${next}` : ''}`);
      expect(r.total).toBe(3);
      walked.push(...r.items.map((x) => x.id));
      next = r.next;
      if (!next) break;
    }
    expect(walked).toEqual(all);
    for (const q of ['after=%21%21', 'after=WyJhIl0', `after=${encodeURIComponent(Buffer.from('["a","b"]').toString('base64url'))}&offset=2`]) {
      const r = await admin.call('GET', `/devices?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toBe('BAD_REQUEST');
    }
  });

  it('retiring a device without a seat needs no confirmation', async () => {
    const d = await admin.ok('POST', `/devices/${devs[2].deviceId}/retire`, {});
    expect(d.reason).toBe('DEVICE_RETIRED');
  });

  it('deletes only retired devices; a deleted device is forgotten and its agent refused', async () => {
    const refused = await admin.call('DELETE', `/devices/${devs[1].deviceId}`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'DEVICE_NOT_RETIRED']);
    expect((await devs[2].entitlement()).status).toBe(200);
    const r = await admin.ok('DELETE', `/devices/${devs[2].deviceId}`);
    expect(r).toEqual({ id: devs[2].deviceId, name: 'cart-2', deleted: true });
    expect((await admin.get(`/devices/${devs[2].deviceId}`)).status).toBe(404);
    expect((await devs[2].entitlement()).status).toBe(401);
    // The audit keeps its name although the row is gone.
    expect(await lastAudit('device.delete')).toMatchObject({ target: devs[2].deviceId, targetName: 'cart-2' });
    expect((await admin.ok('GET', '/groups/Cart')).deviceCount).toBe(2);
  });
});

describe('groups and subscriptions', () => {
  it('renames a group (id, members and licence stay) and refuses a taken name', async () => {
    const g = await admin.ok('GET', '/groups/Cart');
    const r = await admin.ok('PATCH', '/groups/Cart', { name: 'Cart A' });
    expect(r).toMatchObject({ id: g.id, name: 'Cart A', deviceCount: g.deviceCount, subscription: g.subscription });
    await admin.ok('POST', '/groups', { name: 'Spare' });
    const taken = await admin.patch('/groups/Cart A', { name: 'spare' });
    expect([taken.status, taken.body.error.code]).toEqual([409, 'NAME_TAKEN']);
    expect(await lastAudit('group.rename')).toMatchObject({ target: g.id, targetName: 'Cart A', details: { before: { name: 'Cart' }, after: { name: 'Cart A' } } });
  });

  it('refuses to delete a group with a licence on it or on a group nested in it (GROUP_HAS_LICENSES)', async () => {
    await admin.ok('POST', '/groups', { name: 'School' });
    await admin.ok('POST', '/groups/School/children', { group: 'Cart A' });
    const before = await snapshot();
    for (const g of ['Cart A', 'School']) {
      const r = await admin.call('DELETE', `/groups/${encodeURIComponent(g)}`, { confirm: true });
      expect([g, r.status, r.body.error.code]).toEqual([g, 409, 'GROUP_HAS_LICENSES']);
      expect(r.body.error.message).toMatch(/'Cart EA' on 'Cart A'/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('deleting a group nested in a licensed one is guarded; a plain group goes without', async () => {
    await admin.ok('POST', '/groups', { name: 'Cart B', parent: 'Cart A' });
    const [b] = await enroll(['cart-b-0'], 'Cart B');
    await admin.ok('PATCH', '/subscriptions/Cart EA', { seats: 3 });
    expect((await admin.ok('GET', `/devices/${b.deviceId}`)).licensed).toBe(true);
    const r = await admin.call('DELETE', '/groups/Cart B');
    expect(r.status).toBe(428);
    expect(r.body.error.details.impact).toMatchObject({ devices: 1, sample: [{ name: 'cart-b-0' }] });
    const gone = await admin.ok('DELETE', '/groups/Cart B', { confirm: true });
    expect(gone).toMatchObject({ name: 'Cart B', deleted: true });
    expect((await admin.ok('GET', `/devices/${b.deviceId}`)).reason).toBe('NOT_IN_LICENSED_GROUP');
    expect((await admin.ok('DELETE', '/groups/Spare')).deleted).toBe(true);
    expect((await admin.get('/groups/Spare')).status).toBe(404);
    expect(await lastAudit('group.delete')).toMatchObject({ targetName: 'Spare' });
  });

  it('renames a subscription and guards seats below use, suspension and a past term end', async () => {
    const s = await admin.ok('PATCH', '/subscriptions/Cart EA', { name: 'Cart EA 2027' });
    expect(s.name).toBe('Cart EA 2027');
    const before = await snapshot();
    for (const body of [{ seats: 0 }, { status: 'suspended' }, { termEnd: new Date(Date.now() - 60_000).toISOString() }]) {
      const r = await admin.patch('/subscriptions/Cart EA 2027', body);
      expect([JSON.stringify(body), r.status, r.body.error.code]).toEqual([JSON.stringify(body), 428, 'CONFIRMATION_REQUIRED']);
      expect(r.body.error.details.impact.devices).toBe(2);
    }
    expect(await snapshot()).toEqual(before);
    // Changes that take no seat need no confirmation.
    expect((await admin.ok('PATCH', '/subscriptions/Cart EA 2027', { seats: 2 })).seats).toBe(2);
    const names = (await admin.ok('GET', '/audit?action=subscription.update&limit=5')).items;
    expect(names.some((e: any) => e.details.before.name === 'Cart EA' && e.details.after.name === 'Cart EA 2027')).toBe(true);
  });
});

describe('CSV export and audit', () => {
  it('exports devices as RFC 4180 CSV with formula-like cells neutralised', async () => {
    const [evil] = await enroll(['=HYPERLINK("http://x","y")', 'plain,"quoted"']);
    await evil.report({ mode: 'full', reason: 'ASSIGNED', users: [{ name: '@alice', mode: 'full' }], agentVersion: '+1', lastError: null, cacheExpiresAt: null, entitlementSeq: null });
    const r = await fetch(`${svc.url}/v1/admin/devices.csv`, { headers: { authorization: `Bearer ${(await admin.ok('POST', '/admins', { role: 'reader' })).token}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename="devlic-devices-\d{4}-\d{2}-\d{2}\.csv"/);
    const text = await r.text();
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('hostname,group,seat,mode,enforcement,users,agent version,last seen');
    expect(text).toContain(`"'=HYPERLINK(""http://x"",""y"")",,NOT_IN_LICENSED_GROUP,full,pending (reports full),'@alice,'+1,`);
    expect(text).toContain('"plain,""quoted""",,NOT_IN_LICENSED_GROUP,,never reported,,,never\r\n');
    expect(lines.filter(Boolean).length).toBe(1 + (await admin.ok('GET', '/devices?limit=1000')).total);
    // The same filters as the list.
    const retired = await (await fetch(`${svc.url}/v1/admin/devices.csv?retired=true`, { headers: { authorization: `Bearer ${svc.adminToken}` } })).text();
    expect(retired.split('\r\n').filter(Boolean).length).toBe(1);
  });

  it('filters the audit log by actor, action, target and time, with names for ids', async () => {
    const all = await admin.ok('GET', '/audit?limit=1000');
    const deputy = all.items.filter((e: any) => e.actor.name === 'deputy').length;
    expect((await admin.ok('GET', '/audit?actor=deputy&limit=1000')).total).toBe(deputy);
    const groupEvents = await admin.ok('GET', '/audit?action=group.&limit=1000');
    expect(groupEvents.items.every((e: any) => e.action.startsWith('group.'))).toBe(true);
    expect(groupEvents.total).toBeGreaterThan(3);
    const assign = (await admin.ok('GET', '/audit?action=license.assign')).items[0];
    expect(assign.names).toMatchObject({ [assign.details.subscription]: 'Cart EA 2027', [assign.details.group]: 'Cart A' });
    expect((await admin.ok('GET', `/audit?target=${assign.target}&since=${encodeURIComponent(assign.at)}`)).items.every((e: any) => e.target === assign.target)).toBe(true);
    expect((await admin.ok('GET', '/audit?until=2000-01-01T00:00:00Z')).total).toBe(0);
    expect((await admin.get('/audit?since=yesterday')).status).toBe(400);
  });
});

describe('stale devices', () => {
  let stale: ServiceProcess;
  afterAll(async () => { await stale?.stop(); });

  it('refuses a retireStaleAfter without a unit or shorter than 1h at start, from the flag or the config file', async () => {
    const cfg = join(tempDir('stalecfg'), 'server.json');
    writeFileSync(cfg, JSON.stringify({ retireStaleAfter: '90' }));
    for (const [extra, message] of [
      [['--retire-stale-after', '90'], /duration '90' needs a unit/],
      [['--retire-stale-after', '30m'], /shorter than 1h/],
      [['--config', cfg], /retireStaleAfter: duration '90' needs a unit/],
    ] as const) {
      const r = spawnSync(NODE, [join(ROOT, 'service/main.ts'), 'serve', '--data-dir', join(tempDir('stale'), 'data'), '--listen', '127.0.0.1:0', ...extra], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('retires devices not seen for retireStaleAfter, as the system actor, and lists candidates', async () => {
    stale = await startService({ config: { retireStaleAfter: '2d' } });
    const a = adminClient(stale.url, stale.adminToken);
    const t = await a.ok('POST', '/enroll-tokens', { uses: 2 });
    const old = new SimDevice(stale.url, fakeFacts('old-laptop'));
    const fresh = new SimDevice(stale.url, fakeFacts('fresh-laptop'));
    expect((await old.enroll(t.token)).status).toBe(201);
    expect((await fresh.enroll(t.token)).status).toBe(201);
    await a.ok('POST', '/groups', { name: 'Laptops', rule: 'hostname like "*-laptop"' });
    // Three days of silence, written into the service's own database as the passing time would leave it.
    const db = await openServiceDatabase(stale);
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await db.run('UPDATE devices SET enrolled_at = ?, last_seen_at = ? WHERE id = ?', [threeDaysAgo, threeDaysAgo, old.deviceId]);
    await db.close();
    const candidates = await a.ok('GET', `/devices?staleMinutes=${24 * 60}`);
    expect(candidates.items.map((d: any) => d.name)).toEqual(['old-laptop']);
    const d = await waitFor('stale device retired', async () => {
      const x = await a.ok('GET', `/devices/${old.deviceId}`);
      return x.retired ? x : null;
    }, 20_000, 200);
    expect(d).toMatchObject({ reason: 'DEVICE_RETIRED', retired: { by: { id: 'system', name: 'devlic-server' }, reason: 'stale' } });
    expect((await a.ok('GET', `/devices/${fresh.deviceId}`)).retired).toBeNull();
    const ev = (await a.ok('GET', '/audit?action=device.retire')).items[0];
    expect(ev).toMatchObject({ actor: { id: 'system' }, target: old.deviceId, targetName: 'old-laptop', details: { reason: 'stale', lastSeenAt: threeDaysAgo, ruleGroupsLeft: 1 } });
    // Retired by the timer like by an admin: out of its rule group.
    expect((await a.ok('GET', '/groups/Laptops')).members.map((m: any) => m.name)).toEqual(['fresh-laptop']);
  });
});
