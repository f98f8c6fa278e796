// Admin event streams against a real devlic-server (issue 10, item 6): the
// cap is per token and per role, so readers, however many streams they open,
// cannot lock a global-admin out of live updates.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/processes.ts';
import { adminClient, type AdminClient } from '../helpers/admin.ts';
import { STREAM_CAPS } from '../../service/http/admin-events.ts';

let svc: ServiceProcess;
let admin: AdminClient;
const open: ClientRequest[] = [];

beforeAll(async () => {
  svc = await startService();
  admin = adminClient(svc.url, svc.adminToken);
});
afterAll(async () => {
  for (const r of open) r.destroy();
  await svc?.stop();
});

/** Opens GET /v1/admin/events; resolves with the status and, for a refusal, the error body. The stream stays open. */
function openStream(token: string): Promise<{ status: number; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${svc.url}/v1/admin/events`, { headers: { authorization: `Bearer ${token}` } }, (res: IncomingMessage) => {
      if (res.statusCode === 200) {
        // Held open: the hello event proves the stream is live.
        res.once('data', () => resolve({ status: 200 }));
        return;
      }
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, error: JSON.parse(body).error }));
    });
    req.on('error', reject);
    req.end();
    open.push(req);
  });
}

async function readerToken(): Promise<string> {
  return (await admin.ok('POST', '/admins', { role: 'reader' })).token;
}

describe('admin event stream caps', () => {
  it('one token gets its share; past it 429 naming the token, while others still get theirs', async () => {
    const reader = await readerToken();
    for (let i = 0; i < STREAM_CAPS.perToken; i++) expect((await openStream(reader)).status).toBe(200);
    const refused = await openStream(reader);
    expect(refused.status).toBe(429);
    expect(refused.error!.code).toBe('RATE_LIMITED');
    expect(refused.error!.message).toMatch(/this admin token already has \d+ event streams open/);
    expect((await openStream(await readerToken())).status).toBe(200);
    expect((await openStream(svc.adminToken)).status).toBe(200);
  });

  it('readers using up every reader stream do not lock a global-admin out', async () => {
    let readerStreams = 0;
    let lastRefusal: string | undefined;
    // More reader tokens than the readers' share needs: the role cap must stop them.
    for (let t = 0; t < Math.ceil(STREAM_CAPS.perRole / STREAM_CAPS.perToken) + 2; t++) {
      const tok = await readerToken();
      for (let i = 0; i < STREAM_CAPS.perToken; i++) {
        const r = await openStream(tok);
        if (r.status === 200) readerStreams++;
        else lastRefusal = r.error!.message;
      }
    }
    // (The first test left STREAM_CAPS.perToken + 1 reader streams open.)
    expect(readerStreams + STREAM_CAPS.perToken + 1).toBe(STREAM_CAPS.perRole);
    expect(lastRefusal).toMatch(/event streams are open for the role reader/);
    // A global-admin still gets live updates, on a second global-admin token too.
    const second = (await admin.ok('POST', '/admins', { role: 'global-admin' })).token;
    expect((await openStream(svc.adminToken)).status).toBe(200);
    expect((await openStream(second)).status).toBe(200);
    // And the service still answers everything else.
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('a closed stream gives its place back', async () => {
    const tok = await readerToken();
    // The readers' share is full (previous test): nothing for a new reader.
    expect((await openStream(tok)).status).toBe(429);
    for (const r of open.splice(0, 3)) r.destroy();
    let got = 0;
    for (let i = 0; i < 20 && got === 0; i++) {
      if ((await openStream(tok)).status === 200) got++;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(got).toBe(1);
  });
});
