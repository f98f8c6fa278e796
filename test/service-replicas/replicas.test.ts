// Several devlic-server replicas on one PostgreSQL behave as one service
// (issue 12): seats are never double-allocated when admin changes race on two
// replicas; a change made on one wakes devices waiting on the other within
// about a second; every replica publishes and signs with the same keys, and
// one without the site key (or with another) refuses to start; a replica
// killed with SIGKILL loses nothing it acknowledged; a user-group change on
// one reaches a console's event stream on the other.
// Runs in the `integration` project; needs only PostgreSQL (skipped loudly
// without it, a failure under DEVLIC_REQUIRE_REAL_APPS=1).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { siteKeyFile } from '../../service/keyring-db.ts';
import { keyFromJwk, verifyEntitlement } from '../../shared/token.ts';
import { describePostgres } from '../helpers/postgres.ts';
import { SimDevice } from '../helpers/sim-device.ts';
import { publicJwk } from '../../shared/token.ts';
import { signEnrollProof } from '../../shared/device-proofs.ts';
import { NODE, ROOT, freePort, tempDir, waitFor } from '../helpers/processes.ts';
import { openEventStream } from '../helpers/admin-events.ts';
import { enrollDevices, current, pollUntil, restartReplica, startReplicas, waitingOn, SKU, type Replica } from './replicas.ts';

describePostgres('replicas on one PostgreSQL', (cluster) => {
  let database: string;
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    database = await cluster().createDatabase();
    [a, b] = await startReplicas(2, database);
  });
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop()]); });

  it('never double-allocates seats when assigns, nests and device moves race on both replicas', async () => {
    const K = 7;
    const groups = ['Race-A', 'Race-B', 'Race-C', 'Race-D', 'Race-E', 'Race-F'];
    for (const g of groups) await a.admin.ok('POST', '/groups', { name: g });
    await b.admin.ok('POST', '/subscriptions', { product: SKU, seats: K, name: 'Race' });
    // 4 devices in each of A..D, enrolled through both replicas; E and F start empty.
    const devices = (await Promise.all(groups.slice(0, 4).map((g) => enrollDevices(a.admin, [a.url, b.url], g, 4)))).flat();
    const spare = devices.slice(0, 3).map((d) => d.deviceId);

    // Every change at once, alternating replicas; each is either acknowledged or refused, never half-done.
    const changes: Array<{ on: Replica; path: string; body: object; action: string }> = [
      ...groups.map((g) => ({ path: '/licenses/assign', body: { subscription: 'Race', group: g, confirm: true }, action: 'license.assign' })),
      { path: '/groups/Race-A/children', body: { group: 'Race-E', confirm: true }, action: 'group.nest' },
      { path: '/groups/Race-B/children', body: { group: 'Race-F', confirm: true }, action: 'group.nest' },
      { path: '/groups/Race-E/devices', body: { devices: spare, confirm: true }, action: 'group.add-devices' },
      { path: '/groups/Race-F/devices', body: { devices: spare, confirm: true }, action: 'group.add-devices' },
      // The same assignment twice on the two replicas: exactly one may win.
      { path: '/licenses/assign', body: { subscription: 'Race', group: 'Race-A', confirm: true }, action: 'license.assign' },
    ].map((c, i) => ({ ...c, on: i % 2 ? b : a }));
    const answers = await Promise.all(changes.map((c) => c.on.admin.call('POST', c.path, c.body)));
    for (const [i, r] of answers.entries()) expect([200, 201, 409], `${changes[i].path} ${JSON.stringify(r.body)}`).toContain(r.status);
    const acked = changes.filter((_, i) => answers[i].status < 300);
    const assignsAcked = acked.filter((c) => c.action === 'license.assign').length;
    expect(assignsAcked).toBe(groups.length); // the duplicate lost, whichever replica it hit

    // Both replicas agree, device by device, and exactly min(K, devices) are licensed.
    const viewOf = async (r: Replica) => (await r.admin.ok('GET', '/devices?limit=1000')).items as Array<{ id: string; licensed: boolean; subscription: { name: string } | null; entitlementSeq: number }>;
    const [va, vb] = await Promise.all([viewOf(a), viewOf(b)]);
    expect(va.length).toBe(devices.length);
    expect(vb).toEqual(va);
    expect(va.filter((d) => d.licensed).length).toBe(Math.min(K, devices.length));
    for (const r of [a, b]) {
      const sub = await r.admin.ok('GET', '/subscriptions/Race');
      expect(sub.seatsUsed).toBe(K);
      expect(sub.seatsExhausted).toBe(devices.length - K);
      expect((await r.admin.ok('GET', '/devices?licensed=true&limit=1000')).items.length).toBe(K);
    }
    // And what the devices themselves are told matches the views.
    const told = await Promise.all(devices.map(current));
    expect(told.filter((t) => t.status === 'licensed').length).toBe(K);

    // The audit has every acknowledged change, once, on both replicas.
    for (const r of [a, b]) {
      const events = (await r.admin.ok('GET', '/audit?limit=1000')).items as Array<{ action: string }>;
      for (const action of new Set(acked.map((c) => c.action))) {
        expect(events.filter((e) => e.action === action).length, action).toBe(acked.filter((c) => c.action === action).length);
      }
    }
  }, 120_000);

  it('fans out: devices waiting on one replica are answered within about a second of an assign (and an unassign) on the other', async () => {
    await a.admin.ok('POST', '/groups', { name: 'Fan' });
    await a.admin.ok('POST', '/subscriptions', { product: SKU, seats: 100, name: 'Fan' });
    const devices = await enrollDevices(a.admin, [a.url, b.url], 'Fan', 24);
    const onB = devices.filter((d) => d.url === b.url);
    const before = await Promise.all(devices.map(current));
    expect(before.every((p) => p.status === 'unlicensed')).toBe(true);

    const waiting = devices.map((d, i) => pollUntil(d, 'licensed', before[i]));
    // Every poll is held (none answered early) before the change is made.
    await waitFor('every long-poll held', async () => (await waitingOn(a)) + (await waitingOn(b)) === devices.length);
    const assignedAt = Date.now();
    await a.admin.ok('POST', '/licenses/assign', { subscription: 'Fan', group: 'Fan', confirm: true });
    const licensed = await Promise.all(waiting);
    const lat = licensed.map((p) => p.at - assignedAt).sort((x, y) => x - y);
    const bLat = licensed.filter((_, i) => devices[i].url === b.url).map((p) => p.at - assignedAt);
    console.log(`fan-out assign on A: ${devices.length} devices (${onB.length} on B) p50 ${lat[Math.floor(lat.length / 2)]} ms, max ${lat.at(-1)} ms; on B max ${Math.max(...bLat)} ms`);
    expect(Math.max(...bLat)).toBeLessThan(1_500);

    const waiting2 = devices.map((d, i) => pollUntil(d, 'unlicensed', licensed[i]));
    await waitFor('every long-poll held again', async () => (await waitingOn(a)) + (await waitingOn(b)) === devices.length);
    const unassignedAt = Date.now();
    await b.admin.ok('POST', '/licenses/unassign', { subscription: 'Fan', group: 'Fan', confirm: true });
    const back = await Promise.all(waiting2);
    const lat2 = back.map((p) => p.at - unassignedAt);
    console.log(`fan-out unassign on B: max ${Math.max(...lat2)} ms`);
    expect(Math.max(...lat2)).toBeLessThan(1_500);
  }, 120_000);

  it('a re-enrollment or revocation on one replica ends the old key and the revoked stream on the other at once', async () => {
    await a.admin.ok('POST', '/groups', { name: 'Rekey' });
    const [dev] = await enrollDevices(a.admin, [b.url], 'Rekey', 1, 'rekey');
    // B has verified and cached the device's request token: without the fan-out it would keep accepting it for its lifetime (minutes).
    const auth = await dev.authHeader();
    expect((await dev.entitlement({ authorization: auth })).status).toBe(200);
    const { token } = await a.admin.ok('POST', '/enroll-tokens', { uses: 1, group: 'Rekey' });
    const next = new SimDevice(a.url, { ...dev.facts });
    const proof = await signEnrollProof(dev.privateKey, dev.deviceId, await publicJwk(next.publicKey), Math.floor(Date.now() / 1000));
    expect((await next.enroll(token, { proof })).body).toMatchObject({ deviceId: dev.deviceId, reenrolled: true });
    await waitFor('the old key refused on B', async () => (await dev.entitlement({ authorization: auth })).status === 401, 15_000);

    const reader = await a.admin.ok('POST', '/admins', { role: 'reader', name: 'tab on B' });
    const res = await fetch(`${b.url}/v1/admin/events`, { headers: { authorization: `Bearer ${reader.token}` } });
    const stream = res.body!.getReader();
    expect(new TextDecoder().decode((await stream.read()).value)).toMatch(/event: hello/);
    await a.admin.ok('POST', `/admins/${reader.id}/revoke`, {});
    const ended = await Promise.race([
      (async () => { for (;;) { if ((await stream.read()).done) return 'ended'; } })(),
      new Promise((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(ended).toBe('ended');
  });

  it('a user-group change on one replica reaches a console\'s event stream on the other (the users event, issue 16)', async () => {
    const reader = await a.admin.ok('POST', '/admins', { role: 'reader', name: 'user tab on B' });
    const stream = await openEventStream(b.url, reader.token);
    try {
      const id = (await a.admin.ok('POST', '/user-groups', { name: 'Replica people' })).id;
      await a.admin.ok('POST', '/user-groups/Replica people/users', { users: ['zoe@corp.example'] });
      const { data } = await stream.next('users', (e) => e.groups.includes(id));
      expect(data).toMatchObject({ groups: [id], all: false });
    } finally {
      stream.close();
    }
  });

  it('publishes one key set on every replica, and a token signed by one verifies with the other\'s keys', async () => {
    const get = async (r: Replica, path: string) => (await fetch(`${r.url}${path}`)).json() as Promise<any>;
    const [ka, kb] = await Promise.all([get(a, '/.well-known/devlic-keys'), get(b, '/.well-known/devlic-keys')]);
    expect(kb).toEqual(ka);
    expect(ka.keys.keys.length).toBeGreaterThanOrEqual(1);
    expect(await get(b, '/.well-known/jwks.json')).toEqual(await get(a, '/.well-known/jwks.json'));

    await a.admin.ok('POST', '/groups', { name: 'Keys' });
    const [dev] = await enrollDevices(a.admin, [a.url], 'Keys', 1);
    // What the device was handed at enrollment (through A) is B's key set too.
    expect(dev.enrollment!.keys).toEqual(await get(b, '/.well-known/jwks.json'));
    const fromA = await current(dev);
    const keys = new Map<string, ReturnType<typeof keyFromJwk>>(kb.keys.keys.map((k: any) => [k.kid, keyFromJwk(k)]));
    const claims = await verifyEntitlement(fromA.token, { keys, deviceId: dev.deviceId, issuer: kb.issuer });
    expect(claims.sub).toBe(dev.deviceId);
  });

  async function refusedStart(dataDir: string): Promise<{ code: number | null; stderr: string }> {
    const port = await freePort();
    const p = spawn(NODE, [join(ROOT, 'service', 'main.ts'), 'serve', '--data-dir', dataDir, '--database', database, '--listen', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d) => { stderr += d; });
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    return { code, stderr };
  }

  it('refuses to start a replica without the site key, or with another one, writing nothing', async () => {
    const auditBefore = (await a.admin.ok('GET', '/audit?limit=1000')).items.length;
    const keysBefore = await (await fetch(`${a.url}/.well-known/devlic-keys`)).json();

    const bare = join(tempDir('replica-nokey'), 'data');
    const none = await refusedStart(bare);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/site-key does not exist: copy that replica's site-key file here \(mode 0600\) \[CONFIG_INVALID\]/);
    expect(existsSync(siteKeyFile(bare))).toBe(false);
    expect(readdirSync(bare)).toEqual([]);

    const wrong = join(tempDir('replica-wrongkey'), 'data');
    mkdirSync(wrong, { mode: 0o700 });
    writeFileSync(siteKeyFile(wrong), `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    const other = await refusedStart(wrong);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/is not the site key the database's signing keys were sealed with.*\[CONFIG_INVALID\]/);
    expect(readdirSync(wrong)).toEqual(['site-key']);

    // The database is as it was: no new key, no audit event.
    expect(await (await fetch(`${a.url}/.well-known/devlic-keys`)).json()).toEqual(keysBefore);
    expect((await a.admin.ok('GET', '/audit?limit=1000')).items.length).toBe(auditBefore);
  });

  it('loses nothing acknowledged when a replica is killed (SIGKILL) mid-stream and restarted', async () => {
    await a.admin.ok('POST', '/subscriptions', { product: SKU, seats: 1000, name: 'Crash' });
    const names = Array.from({ length: 60 }, (_, i) => `Crash-${i}`);
    const acked: string[] = [];
    let killed: Promise<void> | undefined;
    // Groups made (and assigned) on A one after another from several clients, until A dies under them.
    const worker = async (mine: string[]) => {
      for (const name of mine) {
        try {
          const g = await a.admin.call('POST', '/groups', { name });
          if (g.status !== 201) continue;
          acked.push(`group ${name}`);
          const l = await a.admin.call('POST', '/licenses/assign', { subscription: 'Crash', group: name });
          if (l.status === 201) acked.push(`assign ${name}`);
        } catch { /* the connection died with the replica: not acknowledged */ }
        if (acked.length >= 20) killed ??= a.kill9();
      }
    };
    await Promise.all([0, 1, 2, 3].map((w) => worker(names.filter((_, i) => i % 4 === w))));
    await killed;
    expect(acked.length).toBeGreaterThanOrEqual(20);
    expect(acked.length).toBeLessThan(names.length * 2);

    a = await restartReplica(a);
    for (const r of [a, b]) {
      const groups = new Set(((await r.admin.ok('GET', '/groups')).items as Array<{ name: string }>).map((g) => g.name));
      const assigned = new Set(((await r.admin.ok('GET', '/licenses')).items as Array<{ group: { name: string }; subscription: { name: string } }>)
        .filter((l) => l.subscription.name === 'Crash').map((l) => l.group.name));
      for (const what of acked) {
        const [kind, name] = what.split(' ');
        expect(kind === 'group' ? groups.has(name) : assigned.has(name), `${what} on ${r.url}`).toBe(true);
      }
    }
  }, 120_000);
});
