// Long-poll floods against a real devlic-server over real sockets (issue 10,
// item 4): one device key cannot hold more than 2 waits (the oldest is
// answered when a new one comes), the service holds at most maxLongPolls and
// answers the rest at once (Retry-After, connection closed), and /healthz and
// the admin API keep answering while a flood goes on, also when the open-file
// limit is low. (Before the fix the service held every wait it had a file for:
// 228 from one device with 256 open files.)
import { afterEach, describe, expect, it } from 'vitest';
import { startService, waitFor, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { getHead, metric, rawRequest, type RawRequest } from '../helpers/raw-http.ts';

let svc: ServiceProcess | undefined;
const sockets: RawRequest[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.socket.destroy();
  await svc?.stop();
  svc = undefined;
});

const held = (s: ServiceProcess) => metric(s.url, 'devlic_longpolls_waiting');

async function enrolled(s: ServiceProcess, n: number, group?: string): Promise<{ device: SimDevice; etag: string }[]> {
  const admin = adminClient(s.url, s.adminToken);
  const token = (await admin.ok('POST', '/enroll-tokens', { uses: n, ...(group ? { group } : {}) })).token;
  const out = [];
  for (let i = 0; i < n; i++) {
    const device = new SimDevice(s.url, fakeFacts(`flood-${i}`));
    expect((await device.enroll(token)).status).toBe(201);
    out.push({ device, etag: (await device.entitlement()).etag! });
  }
  return out;
}

async function longPoll(s: ServiceProcess, d: { device: SimDevice; etag: string }, wait = 120): Promise<RawRequest> {
  const r = rawRequest(s.port, getHead(`/v1/device/entitlement?wait=${wait}`, { Authorization: await d.device.authHeader(), 'If-None-Match': d.etag }));
  sockets.push(r);
  return r;
}

/** /healthz and an admin read both answer, each within `ms`. */
async function serviceAnswers(s: ServiceProcess, ms = 5000): Promise<void> {
  const health = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(ms) });
  expect(health.status).toBe(200);
  const devices = await fetch(`${s.url}/v1/admin/devices?limit=1`, { headers: { authorization: `Bearer ${s.adminToken}` }, signal: AbortSignal.timeout(ms) });
  expect(devices.status).toBe(200);
}

describe('long-polls per device', () => {
  it('a third wait of the same device answers the oldest with 304 and closes it', async () => {
    svc = await startService();
    const [d] = await enrolled(svc, 1);
    const polls: RawRequest[] = [];
    for (let i = 0; i < 6; i++) {
      polls.push(await longPoll(svc, d));
      await waitFor(`wait ${i} held`, async () => (await held(svc!)) === Math.min(i + 1, 2), 15_000);
      if (i >= 2) {
        // The oldest still waiting is polls[i - 2]: it is the one answered, now, and its socket closed.
        const a = await polls[i - 2].answered;
        expect(a.status).toBe(304);
        expect(a.headers.connection).toBe('close');
        await polls[i - 2].closed;
        expect(polls[i - 1].isAnswered()).toBe(false);
      }
    }
    expect(polls[4].isAnswered() || polls[5].isAnswered()).toBe(false);
  });

  it('500 concurrent waits from one device key hold 2; the rest are answered at once', async () => {
    svc = await startService();
    const [d] = await enrolled(svc, 1);
    const polls = await Promise.all(Array.from({ length: 500 }, () => longPoll(svc!, d)));
    await waitFor('498 answered', () => polls.filter((p) => p.isAnswered()).length >= 498, 60_000, 100);
    const answers = await Promise.all(polls.filter((p) => p.isAnswered()).map((p) => p.answered));
    expect(answers.every((a) => a.status === 304)).toBe(true);
    expect(await held(svc)).toBe(2);
    await serviceAnswers(svc);
  });
});

describe('long-polls service-wide', () => {
  it('past maxLongPolls a wait is answered at once with Retry-After; the held ones still get the change', async () => {
    svc = await startService({ config: { enrollPerMinute: 1000, maxConnections: 100, maxLongPolls: 20 } });
    const admin = adminClient(svc.url, svc.adminToken);
    await admin.ok('POST', '/groups', { name: 'Flooders' });
    await admin.ok('POST', '/subscriptions', { product: 'M365_APPS_ENTERPRISE_DEVICE', seats: 30, name: 'Flood EA' });
    const devices = await enrolled(svc, 30, 'Flooders');
    const polls: RawRequest[] = [];
    for (const d of devices) polls.push(await longPoll(svc, d));
    await waitFor('10 answered at once, 20 held', async () => polls.filter((p) => p.isAnswered()).length === 10 && (await held(svc!)) === 20, 20_000, 100);
    for (const p of polls.filter((x) => x.isAnswered())) {
      const a = await p.answered;
      expect(a.status).toBe(304);
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
      expect(a.headers.connection).toBe('close');
    }
    await serviceAnswers(svc);
    // The 20 held long-polls are not harmed: an assignment reaches them at once.
    await admin.ok('POST', '/licenses/assign', { subscription: 'Flood EA', group: 'Flooders' });
    const waiting = polls.filter((p) => !p.isAnswered());
    expect(waiting).toHaveLength(20);
    for (const p of waiting) expect((await p.answered).status).toBe(200);
  });

});

describe('a flood with a low open-file limit', () => {
  it('with 256 open files, 600 waits from one device, re-opened as soon as answered, leave /healthz and the admin API answering', async () => {
    // Default caps: the service lowers maxConnections to fit the limit and says so.
    svc = await startService({ openFiles: 256 });
    expect(svc.output()).toMatch(/maxConnections is above what the open-file limit allows: lowered/);
    const [d] = await enrolled(svc, 1);
    const auth = await d.device.authHeader();
    let stopped = false;
    let opened = 0;
    const reopen = (): void => {
      if (stopped) return;
      opened++;
      const r = rawRequest(svc!.port, getHead('/v1/device/entitlement?wait=120', { Authorization: auth, 'If-None-Match': d.etag }));
      sockets.push(r);
      r.closed.then(() => setImmediate(reopen));
    };
    try {
      for (let i = 0; i < 600; i++) reopen();
      // The flood is under way: many more requests than sockets have been answered.
      await waitFor('flood churning', () => opened > 1200, 60_000, 100);
      for (let i = 0; i < 5; i++) {
        await serviceAnswers(svc);
        expect(await held(svc)).toBeLessThanOrEqual(2);
      }
    } finally {
      stopped = true;
    }
  });
});
