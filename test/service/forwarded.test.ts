// The enrollment rate limit is keyed by the client's address, and by default
// that is the socket's peer: X-Forwarded-For, Forwarded or X-Real-IP headers,
// whatever they claim, do not give a client a fresh allowance. With the
// trustProxy option only the listed reverse proxies' X-Forwarded-For counts.
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient } from '../helpers/admin.ts';
import { SimDevice, fakeFacts } from '../helpers/sim-device.ts';
import { publicJwk } from '../../shared/token.ts';

const PER_MINUTE = 4;
let svc: ServiceProcess | undefined;
afterEach(async () => { await svc?.stop(); svc = undefined; });

async function enrollVia(s: ServiceProcess, token: string, headers: Record<string, string>): Promise<number> {
  const d = new SimDevice(s.url, fakeFacts('fwd'));
  const r = await fetch(`${s.url}/v1/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token, facts: d.facts, publicKey: await publicJwk(d.publicKey) }),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Each attempt claims to come from a different client. */
const spoofs = (i: number): Record<string, string>[] => [
  { 'x-forwarded-for': `203.0.113.${i}` },
  { forwarded: `for=198.51.100.${i};proto=https` },
  { 'x-real-ip': `192.0.2.${i}` },
  { 'x-forwarded-for': `10.0.0.${i}, 203.0.113.${i}`, forwarded: `for="[2001:db8::${i}]"`, 'x-client-ip': `192.0.2.${i}` },
];

describe('enroll rate limit vs forwarded-for headers', () => {
  it.each([[[] as string[]], [['10.99.99.99']]])('trustProxy %j: spoofed headers share the one allowance of the real peer', async (trustProxy) => {
    svc = await startService({ config: { enrollPerMinute: PER_MINUTE, trustProxy } });
    const token = (await adminClient(svc.url, svc.adminToken).ok('POST', '/enroll-tokens', { uses: 100 })).token;
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE + 4; i++) statuses.push(await enrollVia(svc, token, spoofs(i)[i % 4]));
    expect(statuses.slice(0, PER_MINUTE)).toEqual(Array(PER_MINUTE).fill(201));
    expect(statuses.slice(PER_MINUTE)).toEqual(Array(4).fill(429));
  });

  it('with the loopback proxy trusted, its X-Forwarded-For names the client (the option works)', async () => {
    svc = await startService({ config: { enrollPerMinute: PER_MINUTE, trustProxy: ['127.0.0.1', '::1'] } });
    const token = (await adminClient(svc.url, svc.adminToken).ok('POST', '/enroll-tokens', { uses: 100 })).token;
    for (let i = 0; i < PER_MINUTE; i++) expect(await enrollVia(svc, token, { 'x-forwarded-for': '203.0.113.7' })).toBe(201);
    expect(await enrollVia(svc, token, { 'x-forwarded-for': '203.0.113.7' })).toBe(429);
    // Another client behind the same proxy has its own allowance.
    expect(await enrollVia(svc, token, { 'x-forwarded-for': '203.0.113.8' })).toBe(201);
  });
});
