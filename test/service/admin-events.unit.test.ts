// AdminEvents' coalescing of the `users` event (issue 16) beside `devices`,
// on a real loopback HTTP server read by fetch as the console reads it: a
// user change alone sends `users` and no `devices`; groups and people of one
// window go out as one event; too many names, or 'all', become all: true.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminEvents } from '../../service/http/admin-events.ts';
import { openEventStream, type EventStream } from '../helpers/admin-events.ts';

let server: Server;
let url = '';
let events: AdminEvents;

beforeAll(async () => {
  events = new AdminEvents();
  // The path the helper asks for; the token is not checked here (the route does that, tested with the service).
  server = createServer((req, res) => {
    if (req.url === '/v1/admin/events') events.open(res, { id: 'adm_1', role: 'reader' }, { role: 'reader' });
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  events.closeAll();
  await new Promise((r) => server.close(r));
});

/** The events a change produces: everything from after `from` up to the first `users` event. */
async function after(s: EventStream, change: () => void) {
  const from = s.events.length;
  change();
  const { index } = await s.next('users', () => true, { from });
  return s.events.slice(from, index + 1);
}

describe('AdminEvents users event', () => {
  it('a user change alone sends one users event and no devices event; one window is one event', async () => {
    const s = await openEventStream(url, 'unused');
    try {
      const got = await after(s, () => {
        events.userGroupsChanged(['ugr_1']);
        events.peopleChanged(['alice@contoso', 'bob']);
        events.userGroupsChanged(['ugr_1', 'ugr_2']);
      });
      expect(got).toEqual([{ name: 'users', data: { groups: ['ugr_1', 'ugr_2'], people: ['alice@contoso', 'bob'], all: false } }]);
    } finally { s.close(); }
  });

  it('device and user news of one window go out as one event of each kind', async () => {
    const s = await openEventStream(url, 'unused');
    try {
      const got = await after(s, () => {
        events.entitlementsChanged(['dev_1']);
        events.peopleChanged(['carol']);
      });
      expect(got).toEqual([
        { name: 'devices', data: { reported: [], changed: ['dev_1'], all: false } },
        { name: 'users', data: { groups: [], people: ['carol'], all: false } },
      ]);
    } finally { s.close(); }
  });

  it('too many names, or not knowing which, becomes all: true with no names', async () => {
    const s = await openEventStream(url, 'unused');
    try {
      const many = Array.from({ length: 501 }, (_, i) => `p${i}`);
      expect(await after(s, () => events.peopleChanged(many))).toEqual([{ name: 'users', data: { groups: [], people: [], all: true } }]);
      expect(await after(s, () => { events.userGroupsChanged(many.slice(0, 300)); events.peopleChanged(many.slice(300)); }))
        .toEqual([{ name: 'users', data: { groups: [], people: [], all: true } }]);
      expect(await after(s, () => events.userGroupsChanged('all'))).toEqual([{ name: 'users', data: { groups: [], people: [], all: true } }]);
      // And the next window starts clean.
      expect(await after(s, () => events.userGroupsChanged(['ugr_9']))).toEqual([{ name: 'users', data: { groups: ['ugr_9'], people: [], all: false } }]);
    } finally { s.close(); }
  });

  it('with nobody listening nothing is kept for later', async () => {
    // The streams above are closed once the server has seen their sockets go.
    for (const end = Date.now() + 10_000; events.size > 0;) {
      if (Date.now() > end) throw new Error(`${events.size} streams still open`);
      await new Promise((r) => setTimeout(r, 20));
    }
    events.peopleChanged(['nobody-heard']);
    const s = await openEventStream(url, 'unused');
    try {
      expect(await after(s, () => events.peopleChanged(['dave']))).toEqual([{ name: 'users', data: { groups: [], people: ['dave'], all: false } }]);
    } finally { s.close(); }
  });
});
