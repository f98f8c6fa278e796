// Loose input against a real devlic-server (issue 10, item 9): bodies that
// are not UTF-8, control characters in any device-supplied string, a `wait`
// that is not a whole number, and the 413 message naming the limit of the
// route that refused. Every refusal is a 400/413 with a clear message and
// changes nothing an admin can see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { publicJwk } from '../../shared/token.ts';
import { openSqlDatabase } from '../../service/store/open.ts';

const DEVICE_LIMIT = 4096;
const ADMIN_LIMIT = 65536;

let svc: ServiceProcess;
let admin: AdminClient;
let token: string;
let device: SimDevice;

const goodReport = {
  mode: 'full', reason: 'ASSIGNED', users: [{ name: 'alice', mode: 'full' }], agentVersion: '0.1.0',
  lastError: null, cacheExpiresAt: null, entitlementSeq: null,
};

beforeAll(async () => {
  svc = await startService({ config: { enrollPerMinute: 100000, deviceBodyLimit: DEVICE_LIMIT, adminBodyLimit: ADMIN_LIMIT } });
  admin = adminClient(svc.url, svc.adminToken);
  token = (await admin.ok('POST', '/enroll-tokens', { uses: 1000 })).token;
  device = new SimDevice(svc.url, fakeFacts('input-target'));
  expect((await device.enroll(token)).status).toBe(201);
  expect(await device.report(goodReport)).toBe(204);
});
afterAll(async () => { await svc?.stop(); });

async function deviceCount(): Promise<number> {
  return (await admin.ok('GET', '/devices?limit=1000')).total;
}
async function lastReport(): Promise<unknown> {
  return (await admin.ok('GET', `/devices/${device.deviceId}`));
}

async function postRaw(path: string, body: Buffer | string, authorization?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const r = await fetch(`${svc.url}${path}`, { method: 'POST', headers, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Characters the one text rule refuses, one of each kind. */
const BAD_CHARS: [string, string][] = [
  ['NUL', '\u0000'], ['BEL', '\u0007'], ['ESC (terminal escape)', '\u001b[31m'], ['LF', '\n'], ['CR', '\r'], ['TAB', '\t'],
  ['DEL', '\u007f'], ['C1 NEL', '\u0085'], ['C1 CSI', '\u009b'], ['LINE SEPARATOR', '\u2028'],
  ['RIGHT-TO-LEFT OVERRIDE', '\u202e'], ['FIRST STRONG ISOLATE', '\u2068'], ['unpaired surrogate', '\ud800'],
];

describe('bodies that are not UTF-8', () => {
  it('a status report with invalid UTF-8 is refused with 400 and nothing is stored', async () => {
    const before = await lastReport();
    // 0xff never occurs in UTF-8; 0xc3 0x28 is a broken two-byte sequence; 0xed 0xa0 0x80 an encoded surrogate.
    for (const bad of [[0xff, 0xfe], [0xc3, 0x28], [0xed, 0xa0, 0x80]]) {
      const body = Buffer.concat([Buffer.from('{"mode":"full","reason":"A'), Buffer.from(bad),
        Buffer.from('","users":[],"agentVersion":"1","lastError":null,"cacheExpiresAt":null,"entitlementSeq":null}')]);
      const r = await postRaw('/v1/device/status', body, await device.authHeader());
      expect(r.status, `bytes ${bad}`).toBe(400);
      expect(r.body.error.code).toBe('BAD_REQUEST');
      expect(r.body.error.message).toMatch(/not valid UTF-8/);
    }
    expect(await lastReport()).toEqual(before);
  });

  it('an enrollment with an invalid UTF-8 hostname is refused and creates no device', async () => {
    const before = await deviceCount();
    const d = new SimDevice(svc.url, fakeFacts('x'));
    const json = JSON.stringify({ token, facts: { ...d.facts, hostname: 'HOSTNAME' }, publicKey: await publicJwk(d.publicKey) });
    const [head, tail] = json.split('HOSTNAME');
    const r = await postRaw('/v1/enroll', Buffer.concat([Buffer.from(head), Buffer.from([0x6c, 0x61, 0x62, 0xc0, 0xaf]), Buffer.from(tail)]));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/not valid UTF-8/);
    expect(await deviceCount()).toBe(before);
  });

  it('admin bodies are held to the same rule', async () => {
    const r = await fetch(`${svc.url}/v1/admin/groups`, {
      method: 'POST', headers: { authorization: `Bearer ${svc.adminToken}`, 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"name":"Lab '), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toMatch(/not valid UTF-8/);
    expect((await admin.ok('GET', '/groups')).items ?? []).not.toContainEqual(expect.objectContaining({ name: expect.stringContaining('Lab') }));
  });

  it('valid multi-byte text (accents, CJK, an emoji outside the BMP) is accepted', async () => {
    const d = new SimDevice(svc.url, fakeFacts('Büro-笔记本-😀', { model: 'ThinkPad X1 Carbon Gen 12 – 14″' }));
    expect((await d.enroll(token)).status).toBe(201);
    expect(await d.report({ ...goodReport, users: [{ name: 'José Müller', mode: 'full' }], lastError: 'connexion refusée 😀' })).toBe(204);
    const v = await admin.ok('GET', `/devices/${d.deviceId}`);
    expect(JSON.stringify(v)).toContain('Büro-笔记本-😀');
    expect(JSON.stringify(v)).toContain('José Müller');
  });
});

describe('control characters in device-supplied strings', () => {
  const factFields = ['hostname', 'manufacturer', 'model', 'serial', 'os', 'hardwareUuid'] as const;

  it.each(BAD_CHARS)('every fact refuses %s at enrollment, with a message naming the field', async (_name, ch) => {
    const before = await deviceCount();
    for (const field of factFields) {
      const d = new SimDevice(svc.url, fakeFacts('ctl', { [field]: `lab${ch}01` }));
      const r = await d.enroll(token);
      expect(r.status, field).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(r.body.error.message).toContain(`/facts/${field}`);
      expect(r.body.error.message).toContain('must not contain control characters');
    }
    expect(await deviceCount()).toBe(before);
  });

  it.each(BAD_CHARS)('every status report string refuses %s', async (_name, ch) => {
    const before = await lastReport();
    const cases: [string, Record<string, unknown>][] = [
      ['/users/0/name', { users: [{ name: `bob${ch}`, mode: 'full' }] }],
      ['/lastError', { lastError: `sync failed${ch}fake log line` }],
      ['/agentVersion', { agentVersion: `0.1.0${ch}` }],
      ['/reason', { reason: `ASSIGNED${ch}` }],
    ];
    for (const [path, change] of cases) {
      const r = await fetch(`${svc.url}/v1/device/status`, {
        method: 'POST', headers: { authorization: await device.authHeader(), 'content-type': 'application/json' },
        body: JSON.stringify({ ...goodReport, ...change }),
      });
      const body = await r.json() as any;
      expect(r.status, path).toBe(400);
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.message, path).toContain(path);
      expect(body.error.message).toContain('must not contain control characters');
    }
    expect(await lastReport()).toEqual(before);
  });

  it('an enroll token or key id with control characters is refused like any other string', async () => {
    const d = new SimDevice(svc.url, fakeFacts('tok'));
    expect((await d.enroll(`${token}\u0000`)).status).toBe(400);
    const r = await postRaw('/v1/enroll', JSON.stringify({ token, facts: d.facts, publicKey: { ...(await publicJwk(d.publicKey)), kid: 'k\u001b' } }));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('/publicKey/kid');
  });
});

describe("a newer agent's fields this service does not know", () => {
  // Agents are upgraded device by device: a report or enrollment from a newer
  // agent is accepted, what this service knows is validated, the rest dropped.
  // Read from the database itself: the admin API's answers would hide a stored extra field.
  async function stored(deviceId: string): Promise<{ facts: string; last_report: string | null }> {
    const db = await openSqlDatabase({ dataDir: svc.dataDir, database: svc.database, databasePoolSize: 1 });
    try {
      return (await db.get<{ facts: string; last_report: string | null }>('SELECT facts, last_report FROM devices WHERE id = ?', [deviceId]))!;
    } finally { await db.close(); }
  }

  it('an enrollment with unknown fields (top level and in facts) enrolls; the unknown ones are not stored', async () => {
    const d = new SimDevice(svc.url, fakeFacts('newer-agent'));
    const r = await postRaw('/v1/enroll', JSON.stringify({ token, facts: { ...d.facts, firmware: 'UEFI 2.9' }, publicKey: await publicJwk(d.publicKey), attestation: 'tpm-quote' }));
    expect(r.status).toBe(201);
    const shown = await admin.ok('GET', `/devices/${r.body.deviceId}`);
    expect(shown.facts.hostname).toBe('newer-agent');
    const row = await stored(r.body.deviceId);
    expect(JSON.parse(row.facts).hostname).toBe('newer-agent');
    expect(row.facts).not.toContain('firmware');
  });

  it('a status report with unknown fields at every level is stored without them', async () => {
    const report = {
      ...goodReport, batteryPercent: 71,
      users: [{ name: 'carol', mode: 'full', licence: 'device', sessionKind: 'remote' }],
      enforcement: [{ enforcer: 'file', ok: true, repairedAt: '2026-12-03T05:00:00Z' }],
    };
    expect(await device.report(report)).toBe(204);
    const shown = await admin.ok('GET', `/devices/${device.deviceId}`);
    expect(shown.reports[0].users).toEqual([{ name: 'carol', mode: 'full', licence: 'device' }]);
    const row = await stored(device.deviceId);
    expect(JSON.parse(row.last_report!).users).toEqual([{ name: 'carol', mode: 'full', licence: 'device' }]);
    expect(row.last_report).not.toMatch(/batteryPercent|sessionKind|repairedAt/);
  });

  it('known fields are still checked, and a flood of unknown ones is refused: nothing stored', async () => {
    const before = await lastReport();
    const badKnown = await postRaw('/v1/device/status', JSON.stringify({ ...goodReport, mode: 'sideways', extra: 1 }), await device.authHeader());
    expect(badKnown.status).toBe(400);
    expect(badKnown.body.error.message).toContain('/mode');
    const flood = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, i]));
    const tooMany = await postRaw('/v1/device/status', JSON.stringify({ ...goodReport, ...flood }), await device.authHeader());
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('VALIDATION_FAILED');
    expect(await lastReport()).toEqual(before);
  });
});

describe('?wait= is a whole number of seconds', () => {
  it.each(['1.5', 'abc', '1e3', '1e0', ' 1', '-1', '0x1', '', '+1', 'Infinity'])('wait=%j is refused with 400', async (w) => {
    const e = await device.entitlement();
    const r = await fetch(`${svc.url}/v1/device/entitlement?wait=${encodeURIComponent(w)}`, {
      headers: { authorization: await device.authHeader(), 'if-none-match': e.etag! },
    });
    const body = await r.json() as any;
    expect(r.status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toMatch(/wait must be a whole number of seconds/);
  });

  it('a repeated wait is refused; 0, 1 and the maximum are accepted', async () => {
    const e = await device.entitlement();
    const headers = { authorization: await device.authHeader(), 'if-none-match': e.etag! };
    expect((await fetch(`${svc.url}/v1/device/entitlement?wait=1&wait=2`, { headers })).status).toBe(400);
    expect((await fetch(`${svc.url}/v1/device/entitlement?wait=0`, { headers })).status).toBe(304);
    expect((await fetch(`${svc.url}/v1/device/entitlement?wait=1`, { headers })).status).toBe(304);
    expect((await fetch(`${svc.url}/v1/device/entitlement?wait=301`, { headers })).status).toBe(400);
  });
});

describe('413 names the limit of the route that refused', () => {
  it('device routes state the device body limit, admin routes the admin one', async () => {
    const status = await postRaw('/v1/device/status', JSON.stringify({ ...goodReport, lastError: 'x'.repeat(DEVICE_LIMIT) }), await device.authHeader());
    expect(status.status).toBe(413);
    expect(status.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(status.body.error.message).toContain(`${DEVICE_LIMIT} bytes`);
    expect(status.body.error.message).not.toContain(String(ADMIN_LIMIT));

    const enroll = await postRaw('/v1/enroll', JSON.stringify({ token, pad: 'x'.repeat(DEVICE_LIMIT) }));
    expect(enroll.status).toBe(413);
    expect(enroll.body.error.message).toContain(`${DEVICE_LIMIT} bytes`);

    const r = await fetch(`${svc.url}/v1/admin/groups`, {
      method: 'POST', headers: { authorization: `Bearer ${svc.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(ADMIN_LIMIT) }),
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as any).error.message).toContain(`${ADMIN_LIMIT} bytes`);
  });
});
