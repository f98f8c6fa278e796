// Fault injection, transport side: the service unreachable (connection
// refused, connection reset), too slow, answering 5xx, or rate-limiting with
// Retry-After. Real service, real licensed daemons long-polling through a
// fault proxy; the fault applies to the entitlement endpoint (and, for
// "refused", to status reports too, since the whole port is closed; other
// faults let status reports pass). See helpers/faults.ts for what each case
// asserts: still full on the cached entitlement, a clear reason in status and
// logs, bounded retries, recovery without help once the fault clears.
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { runFault, startTracks, type Tracks } from './helpers/faults.ts';

// One device per case, all at once: each case spends most of its time waiting on the agent's backoff.
vi.setConfig({ maxConcurrency: 7 });
let tracks: Tracks;
beforeAll(async () => { tracks = await startTracks('faults-t', 7); }, 240_000);
afterAll(async () => { await tracks?.stop(); });

const T = 300_000;

describe.concurrent('the agent keeps its state and backs off when the service', () => {
  it('refuses connections (port closed)', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'refuse' },
    error: /cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    event: { type: 'sync', reason: 'UNREACHABLE' },
  })), T);

  it('accepts the connection and resets it', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'reset' },
    // Since the agent names an http/https mismatch (6dfa8f5), a reset on http:// reads as a hang-up.
    error: /cannot (reach|talk to) http:\/\/127\.0\.0\.1:\d+: .*(ECONNRESET|other side closed|closed the connection without answering)/,
    event: { type: 'sync', reason: 'UNREACHABLE' },
  })), T);

  it('answers only after the agent stopped waiting', () => tracks.use((t) => runFault(t, {
    // The agent waits waitSeconds (2) + requestTimeoutSeconds (1) for a long-poll.
    fault: { kind: 'hold', ms: 8000 },
    error: /no answer from http:\/\/127\.0\.0\.1:\d+ within 3 s/,
    event: { type: 'sync', reason: 'UNREACHABLE' },
    // Each attempt takes the full 3 s before it fails.
    windowMs: 5000,
  })), T);

  it('answers 500 with a JSON error', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'status', status: 500, body: JSON.stringify({ error: { code: 'INTERNAL', message: 'database is locked' } }) },
    error: /answered 500 INTERNAL: database is locked/,
    event: { type: 'sync', reason: 'INTERNAL' },
  })), T);

  it('answers 502 with no body', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'status', status: 502 },
    error: /answered 502 HTTP_502/,
    event: { type: 'sync', reason: 'HTTP_502' },
  })), T);

  it('answers 503 with an HTML page', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'status', status: 503, body: '<html><body>Service Unavailable</body></html>', headers: { 'content-type': 'text/html' } },
    error: /answered 503 HTTP_503/,
    event: { type: 'sync', reason: 'HTTP_503' },
  })), T);

  it('answers 429 with Retry-After: 3', () => tracks.use((t) => runFault(t, {
    fault: { kind: 'status', status: 429, headers: { 'retry-after': '3' }, body: JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'slow down' } }) },
    error: /answered 429 RATE_LIMITED: slow down/,
    event: { type: 'sync', reason: 'RATE_LIMITED' },
    retryAfterMs: 3000,
  })), T);
});
