// Fault injection, content side: the entitlement endpoint answers 200 but with
// garbage, JSON of the wrong shape, a body over maxResponseBytes, a body cut
// off mid-way, a token signed by a key the agent never pinned, another
// device's genuine token, or this device's own older token. Real service, real
// licensed daemons long-polling through a fault proxy; status reports pass.
// See helpers/faults.ts for what each case asserts.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { claimsOf, readRow, runFault, startTracks, type Track, type Tracks } from './helpers/faults.ts';

// One device per case, all at once: each case spends most of its time waiting on the agent's backoff.
vi.setConfig({ maxConcurrency: 7 });
let tracks: Tracks;
beforeAll(async () => { tracks = await startTracks('faults-c', 7); }, 240_000);
afterAll(async () => { await tracks?.stop(); });

const T = 300_000;

/** What the service would send, so that only the one broken property differs. */
const genuineBody = (t: Track) => {
  const row = readRow(t.agent);
  return JSON.stringify({ token: row.token, seq: row.seq });
};

describe.concurrent('the agent keeps its state and backs off when the entitlement answer is', () => {
  it('not JSON', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'body', body: '<html><body>Welcome to the captive portal</body></html>' },
    error: /answer from http:\/\/127\.0\.0\.1:\d+ is not JSON/,
    event: { type: 'sync', reason: 'BAD_RESPONSE' },
  })), T);

  it('JSON of the wrong shape', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'body', body: JSON.stringify({ entitlement: { status: 'licensed' }, seq: '9' }) },
    error: /entitlement answer does not match the protocol/,
    event: { type: 'sync', reason: 'BAD_RESPONSE' },
  })), T);

  it('larger than maxResponseBytes', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'body', body: JSON.stringify({ token: 'x'.repeat(70_000), seq: 99 }) },
    error: /answer from http:\/\/127\.0\.0\.1:\d+ refused: larger than 65536 bytes/,
    event: { type: 'sync', reason: 'BAD_RESPONSE' },
  })), T);

  it('cut off before its announced length', () => tracks.use((t) => runFault(t, {
    fault: (tr) => ({ kind: 'truncate', body: genuineBody(tr) }),
    error: /answer from http:\/\/127\.0\.0\.1:\d+ was cut off after \d+ of \d+ bytes/,
    event: { type: 'sync', reason: 'INCOMPLETE_RESPONSE' },
  })), T);

  it('a token signed by a key the agent does not trust', () => tracks.use((t) => runFault(t, {
    fault: (tr) => {
      const genuine = readRow(tr.agent).token;
      const { privateKey } = generateKeyPairSync('ed25519');
      // Same kid and plausible claims for this device, a higher seq: only the signature gives it away.
      const header = decodeProtectedHeader(genuine);
      const claims = { ...claimsOf(genuine), seq: claimsOf(genuine).seq + 1, status: 'unlicensed', reason: 'NOT_IN_LICENSED_GROUP' };
      const token = signJws(header, claims, privateKey);
      return { kind: 'serve', token, seq: claims.seq };
    },
    error: /token refused: entitlement token signature does not verify/,
    event: { type: 'token-rejected', reason: 'TOKEN_INVALID' },
  })), T);

  it("another device's genuine token", () => tracks.use((t) => runFault(t, {
    fault: (tr) => {
      const other = tracks.all.find((o) => o !== tr)!;
      // Its first token: unlicensed, so taking it would also show as a mode change.
      const { token, seq } = other.proxy.recorded[0];
      expect(claimsOf(token).sub).not.toBe(claimsOf(readRow(tr.agent).token).sub);
      return { kind: 'serve', token, seq };
    },
    error: /token refused: entitlement token is for another device/,
    event: { type: 'token-rejected', reason: 'TOKEN_OTHER_DEVICE' },
  })), T);

  it("this device's own older genuine token, replayed", () => tracks.use((t) => runFault(t, {
    fault: (tr) => {
      const current = readRow(tr.agent).seq;
      const old = tr.proxy.recorded.find((r) => r.seq < current && claimsOf(r.token).status === 'unlicensed');
      expect(old, 'an older unlicensed token passed through the proxy').toBeDefined();
      return { kind: 'serve', token: old!.token, seq: old!.seq };
    },
    error: /token refused: seq \d+ is older than accepted seq \d+/,
    event: { type: 'token-rejected', reason: 'TOKEN_REPLAYED' },
  })), T);
});

/** A compact JWS (RFC 7515) signed with EdDSA by `key`; node:crypto signs synchronously. */
function signJws(header: object, claims: object, key: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}
