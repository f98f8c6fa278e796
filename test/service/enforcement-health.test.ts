// Enforcement health reaches IT: per-enforcer `ok` in a device's status
// report goes through a real devlic-server (SQLite, or PostgreSQL with
// --project integration-pg) to `devlic-admin devices list` (ENFORCED column,
// --not-enforced, --json's enforcement object) and `devices show`. A report
// from an older agent, without the field, shows "unknown", never "ok".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient, runAdminCli } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';

const MAIN = join(ROOT, 'service/admin-cli/main.ts');
let svc: ServiceProcess;
let admin: AdminClient;

const cli = (args: string[], env: Record<string, string> = {}) => runAdminCli(svc, args, env);

const base = { mode: 'read-only', reason: 'NOT_IN_LICENSED_GROUP', users: [], agentVersion: '0.1.0', lastError: null, cacheExpiresAt: null, entitlementSeq: null };
const TOO_OLD = 'LibreOffice 7.4.7.2 does not have /org.openoffice.Office.Common/Misc/ViewerAppMode';

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
});
afterAll(async () => { await svc?.stop(); });

describe('enforcement health in the fleet view', () => {
  it('ok, failing and unknown devices, through the report to devices list / show', async () => {
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 3 });
    const [good, bad, old] = ['eh-good', 'eh-bad', 'eh-old'].map((n) => new SimDevice(svc.url, fakeFacts(n)));
    for (const d of [good, bad, old]) expect((await d.enroll(t.token)).status).toBe(201);
    expect(await good.report({ ...base, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: true }] })).toBe(204);
    expect(await bad.report({ ...base, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: false, reason: TOO_OLD }] })).toBe(204);
    expect(await old.report(base)).toBe(204); // an agent from before the field

    const list = await cli(['devices', 'list', '--search', 'eh-', '--json']);
    expect(list.code, list.err).toBe(0);
    const byName = new Map((JSON.parse(list.out) as any[]).map((d) => [d.name, d]));
    expect(byName.get('eh-good').enforcement).toEqual({ ok: true, failing: [] });
    expect(byName.get('eh-bad').enforcement).toEqual({ ok: false, failing: [{ enforcer: 'libreoffice', reason: TOO_OLD }] });
    expect(byName.get('eh-old').enforcement).toEqual({ ok: null, failing: [] });

    const table = await cli(['devices', 'list', '--search', 'eh-']);
    expect(table.code, table.err).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/LAST MODE\s+ENFORCED\s+LAST SEEN/);
    const row = (name: string) => table.out.split('\n').find((l) => l.includes(name))!;
    expect(row('eh-good')).toMatch(/read-only\s+yes\s/);
    expect(row('eh-bad')).toMatch(/read-only\s+NO \(libreoffice\)\s/);
    expect(row('eh-old')).toMatch(/read-only\s+unknown\s/);

    const notEnforced = await cli(['devices', 'list', '--search', 'eh-', '--not-enforced', '--json']);
    expect(JSON.parse(notEnforced.out).map((d: any) => d.name)).toEqual(['eh-bad']);
    expect((await admin.ok('GET', '/devices?q=eh-&enforced=unknown')).items.map((d: any) => d.name)).toEqual(['eh-old']);
    expect((await admin.ok('GET', '/devices?q=eh-&enforced=true')).items.map((d: any) => d.name)).toEqual(['eh-good']);

    const show = await cli(['devices', 'show', 'eh-bad']);
    expect(show.out).toMatch(/Enforced:\s+NO: libreoffice: LibreOffice 7\.4\.7\.2 does not have/);
    expect((await cli(['devices', 'show', 'eh-old'])).out).toMatch(/Enforced:\s+unknown/);

    // Fixed on the device: the next report clears it.
    expect(await bad.report({ ...base, enforcement: [{ enforcer: 'file', ok: true }, { enforcer: 'libreoffice', ok: true }] })).toBe(204);
    expect((await admin.ok('GET', '/devices?q=eh-&enforced=false')).items).toEqual([]);
  });

  it('refuses a bad filter value or a malformed field, and changes nothing', async () => {
    const r = await admin.get('/devices?enforced=maybe');
    expect([r.status, r.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const t = await admin.ok('POST', '/enroll-tokens', { uses: 1 });
    const d = new SimDevice(svc.url, fakeFacts('eh-malformed'));
    expect((await d.enroll(t.token)).status).toBe(201);
    expect(await d.report({ ...base, enforcement: [{ enforcer: 'file', ok: true }] })).toBe(204);
    expect(await d.report({ ...base, mode: 'full', enforcement: [{ enforcer: 'file', ok: 'yes' }] })).toBe(400);
    expect(await d.report({ ...base, mode: 'full', enforcement: [{ enforcer: 'file', ok: false, reason: 'x'.repeat(301) }] })).toBe(400);
    const dev = (await admin.ok('GET', '/devices?q=eh-malformed')).items[0];
    expect([dev.lastMode, dev.enforcement]).toEqual(['read-only', { ok: true, failing: [] }]);
  });
});
