// Load-generator worker for the long-poll benchmarks (longpolls.ts,
// propagation.ts): a light device client speaking the agent's protocol over
// one raw HTTP/1.1 keep-alive socket per device, as real agents hold them.
// Each device fetches its entitlement once (for the ETag), then long-polls
// with If-None-Match; every answer re-arms the long-poll at once, so a device
// follows any number of changes. Reports progress to the parent and, on
// request, when each 200 answer arrived and whether it said licensed.
// With KNOWN_ETAG (e.g. '"1"', the seq the seed wrote) a device comes online
// as an agent restarting with its stored token does: a conditional fetch
// without wait (304, nothing signed or stored), then the long-poll. A fleet
// of 50,000 then opens at the speed of device authentication instead of
// making the service sign and store 50,000 first tokens before the run.
// Args: PORT TOKENS_FILE FROM TO [WAIT_SECONDS] [KNOWN_ETAG]
// DEVLIC_BENCH_STARTING: how many devices may be opening at once (default
// 100; reconnect-storm.ts sets it above the device count: all open at once).
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

const [, , port, file, from, to, waitArg, knownEtag] = process.argv;
const WAIT = Number(waitArg ?? 240);
const devices = (JSON.parse(readFileSync(file, 'utf8')) as { token: string }[]).slice(Number(from), Number(to));
/** [arrival ms, 1 licensed / 0 unlicensed] of every 200 answered to a held long-poll. */
const answers: [number, number][] = [];
let connected = 0, waiting = 0, errors = 0, notModified = 0;
/** Devices opened but not yet holding a long-poll (connecting or on their first fetch). */
let starting = 0;
const errorCodes: Record<string, number> = {};
const sockets: Socket[] = [];
/** [opened, held] (Date.now() ms) of every device that reached its held long-poll: reconnect-storm.ts's figures. */
const held: [number, number][] = [];

/** A long-poll when `wait`; else a plain fetch, conditional when `etag` is given. */
function request(token: string, etag: string | null, wait = etag !== null): string {
  return `GET /v1/device/entitlement${wait ? `?wait=${WAIT}` : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: DevlicDevice ${token}\r\n`
    + (etag ? `If-None-Match: ${etag}\r\n` : '') + '\r\n';
}

function licensedOf(body: string): number {
  const token = (JSON.parse(body) as { token: string }).token;
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).status === 'licensed' ? 1 : 0;
}

function open(token: string): void {
  const openedAt = Date.now();
  const s = connect({ host: '127.0.0.1', port: Number(port) });
  sockets.push(s);
  let buf = Buffer.alloc(0);
  let etag: string | null = null;
  let dead = false;
  const fail = (why: string) => {
    if (dead) return;
    dead = true;
    errors++;
    errorCodes[why] = (errorCodes[why] ?? 0) + 1;
    if (etag) waiting--;
    else starting--;
    s.destroy();
  };
  starting++;
  s.setNoDelay(true);
  s.on('connect', () => { connected++; s.write(knownEtag ? request(token, knownEtag, false) : request(token, null)); });
  s.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const headers = buf.toString('latin1', 0, head);
      const len = Number(headers.match(/content-length: (\d+)/i)?.[1] ?? 0);
      if (buf.length < head + 4 + len) return;
      const status = headers.slice(9, 12);
      const body = buf.toString('utf8', head + 4, head + 4 + len);
      buf = buf.subarray(head + 4 + len);
      const newTag = headers.match(/etag: ("[^"]*")/i)?.[1] ?? null;
      if (status === '200' && newTag) {
        if (etag) answers.push([Date.now(), licensedOf(body)]);
        else { waiting++; starting--; held.push([openedAt, Date.now()]); }
        etag = newTag;
      } else if (status === '304' && !etag && newTag === knownEtag) {
        // The first, conditional fetch: the device's stored seq is current.
        waiting++; starting--;
        held.push([openedAt, Date.now()]);
        etag = newTag;
      } else if (status === '304') {
        notModified++;
      } else {
        fail(`HTTP ${status}`);
        return;
      }
      s.write(request(token, etag));
    }
  });
  s.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
  s.on('close', () => fail('closed by the service'));
}

// Devices come online as the service lets them: at most STARTING at a time are
// connecting or on their first fetch (like agents ramping up after a boot
// storm), so the service's accept queue is not overrun by a burst that no
// real fleet would send, and every device gets in.
const STARTING = Number(process.env.DEVLIC_BENCH_STARTING ?? 100);
// DEVLIC_BENCH_START_AT (Date.now() ms): wait until then, so every client process of a storm opens at the same moment.
let i = 0;
setTimeout(() => {
  const timer = setInterval(() => {
    while (starting < STARTING && i < devices.length) open(devices[i++].token);
    if (i >= devices.length) clearInterval(timer);
  }, 5);
}, Math.max(0, Number(process.env.DEVLIC_BENCH_START_AT ?? 0) - Date.now()));

let last = '';
setInterval(() => {
  const m = { connected, waiting, answered: answers.length, notModified, errors };
  const text = JSON.stringify(m);
  if (text !== last) process.send!(m);
  last = text;
}, 20);
process.on('message', (m: string) => {
  if (m === 'report') process.send!({ done: true, answers, errors, errorCodes, notModified, held });
  if (m === 'exit') { for (const s of sockets) s.destroy(); process.exit(0); }
});
